#!/usr/bin/env Rscript
# Reference values for tests/test_study.c (dolor_study_tables): a small per-case table of two models, three folds,
# background + three foreground classes (some undefined values, NA), and what R says about it:
#   per fold means and the mean/SD (sample and population) of the fold means,
#   per class mean, sd, t.test CI, quantile(type = 7) median/P25/P75 over the pooled cases,
#   summary(aov(y ~ class)) and pairwise.t.test(y, class, p.adjust.method = "bonferroni").
# and, for the classification and agreement tables (dolor_study_cls_tables, dolor_study_icc_table), a per-case table
# of two classifiers' out-of-fold probabilities (3 folds, 60 cases, ties) and one of per-case areas of two
# annotators and a model:
#   binom.test (Clopper-Pearson) and prop.test(correct = FALSE) (Wilson) CIs of sensitivity, specificity, PPV,
#   NPV, accuracy; pROC auc, ci.auc(method = "delong"), roc.test(method = "delong", paired = TRUE); per-fold
#   AUC and the mean/SD of the fold values; psych::ICC's ICC2 row (ICC, CI, F, df, p).
# Run by hand from the repository root: Rscript tools/gen_study_stats_fixture.R
# Writes tests/fixtures/study/per_case_small.csv, r_reference.csv, per_case_cls.csv, areas_small.csv and
# r_reference_cls.csv.
set.seed(20261201)
classes <- c("background", "nerve", "vessel", "fascia")
rows <- list()
for (model in c("unetA", "unetB")) for (fold in 1:3) for (i in 1:6) {
  case <- sprintf("c%02d", (fold - 1) * 6 + i)
  for (k in seq_along(classes)) {
    base <- c(0.97, 0.62, 0.48, 0.35)[k] + if (model == "unetB") 0.04 else 0
    iou <- round(min(1, max(0, base + rnorm(1, 0, 0.12))), 6)
    if (k == 4 && i == 3 && fold == 2) iou <- NA      # class absent from truth and prediction
    dice <- if (is.na(iou)) NA else round(2 * iou / (1 + iou), 6)
    rows[[length(rows) + 1]] <- data.frame(model = model, fold = fold, case = case, patient = paste0("P", case),
                                           class = classes[k], iou = iou, dice = dice)
  }
}
d <- do.call(rbind, rows)
dir.create("tests/fixtures/study", showWarnings = FALSE, recursive = TRUE)
write.csv(d, "tests/fixtures/study/per_case_small.csv", row.names = FALSE, quote = FALSE, na = "NA")

out <- data.frame(table = character(), model = character(), metric = character(), key = character(),
                  value = numeric(), stringsAsFactors = FALSE)
add <- function(table, model, metric, key, value)
  out[nrow(out) + 1, ] <<- list(table, model, metric, key, value)
fg <- classes[-1]
for (model in c("unetA", "unetB")) for (metric in c("iou", "dice")) {
  s <- d[d$model == model & d$class %in% fg & !is.na(d[[metric]]), ]
  for (cl in fg) {
    x <- s[s$class == cl, metric]
    fm <- tapply(s[s$class == cl, metric], s[s$class == cl, "fold"], mean)
    for (f in names(fm)) add("per_fold", model, metric, paste0(cl, ":", f), fm[[f]])
    add("per_fold", model, metric, paste0(cl, ":mean"), mean(fm))
    add("per_fold", model, metric, paste0(cl, ":sd_sample"), sd(fm))
    add("per_fold", model, metric, paste0(cl, ":sd_population"), sqrt(mean((fm - mean(fm))^2)))
    tt <- t.test(x)
    q <- quantile(x, c(0.25, 0.5, 0.75), type = 7)
    add("class", model, metric, paste0(cl, ":n"), length(x))
    add("class", model, metric, paste0(cl, ":mean"), mean(x))
    add("class", model, metric, paste0(cl, ":sd"), sd(x))
    add("class", model, metric, paste0(cl, ":ci95_lo"), tt$conf.int[1])
    add("class", model, metric, paste0(cl, ":ci95_hi"), tt$conf.int[2])
    add("class", model, metric, paste0(cl, ":median"), q[[2]])
    add("class", model, metric, paste0(cl, ":p25"), q[[1]])
    add("class", model, metric, paste0(cl, ":p75"), q[[3]])
  }
  s$class <- factor(s$class, levels = fg)
  a <- summary(aov(s[[metric]] ~ s$class))[[1]]
  add("anova", model, metric, "df_between", a[1, "Df"])
  add("anova", model, metric, "df_within", a[2, "Df"])
  add("anova", model, metric, "ss_between", a[1, "Sum Sq"])
  add("anova", model, metric, "ss_within", a[2, "Sum Sq"])
  add("anova", model, metric, "F", a[1, "F value"])
  add("anova", model, metric, "p", a[1, "Pr(>F)"])
  pw <- pairwise.t.test(s[[metric]], s$class, p.adjust.method = "bonferroni")$p.value
  for (r in rownames(pw)) for (cc in colnames(pw))
    if (!is.na(pw[r, cc])) add("bonferroni", model, metric, paste0(r, ":", cc), pw[r, cc])
}
out$value <- sprintf("%.15g", out$value)
write.csv(out, "tests/fixtures/study/r_reference.csv", row.names = FALSE, quote = FALSE)
cat("wrote", nrow(d), "per-case rows and", nrow(out), "reference values\n")

# ---- classification: two models' out-of-fold probabilities ----
suppressMessages({library(pROC); library(psych)})
set.seed(20261202)
n <- 60
y <- rep(c(0, 1), length.out = n)
fold <- rep(1:3, each = n / 3)
score <- y * 1.1 + rnorm(n)
pa <- round(1 / (1 + exp(-(score - 0.5))), 2)              # rounded: ties within and across classes
pb <- round(1 / (1 + exp(-(0.6 * score + rnorm(n, 0, 0.8) - 0.3))), 2)
cls <- rbind(data.frame(model = "forest", fold = fold, case = sprintf("v%02d", 1:n), patient = sprintf("P%02d", (1:n + 1) %/% 2),
                        truth = ifelse(y == 1, "high", "low"), label = y, prob = pa, pred = as.integer(pa >= 0.5)),
             data.frame(model = "cnn", fold = fold, case = sprintf("v%02d", 1:n), patient = sprintf("P%02d", (1:n + 1) %/% 2),
                        truth = ifelse(y == 1, "high", "low"), label = y, prob = pb, pred = as.integer(pb >= 0.5)))
write.csv(cls, "tests/fixtures/study/per_case_cls.csv", row.names = FALSE, quote = FALSE)
out <- data.frame(table = character(), model = character(), metric = character(), key = character(),
                  value = numeric(), stringsAsFactors = FALSE)
props <- function(yy, pp) {
  tp <- sum(yy == 1 & pp >= 0.5); fn <- sum(yy == 1 & pp < 0.5); fp <- sum(yy == 0 & pp >= 0.5); tn <- sum(yy == 0 & pp < 0.5)
  list(sensitivity = c(tp, tp + fn), specificity = c(tn, tn + fp), PPV = c(tp, tp + fp), NPV = c(tn, tn + fn),
       accuracy = c(tp + tn, length(yy)))
}
for (model in c("forest", "cnn")) {
  d <- cls[cls$model == model, ]
  pr <- props(d$label, d$prob)
  for (m in names(pr)) {
    x <- pr[[m]][1]; nn <- pr[[m]][2]
    cp <- binom.test(x, nn)$conf.int
    wi <- suppressWarnings(prop.test(x, nn, correct = FALSE))$conf.int
    add("summary", model, m, "x", x); add("summary", model, m, "n", nn); add("summary", model, m, "estimate", x / nn)
    add("summary", model, m, "cp_lo", cp[1]); add("summary", model, m, "cp_hi", cp[2])
    add("summary", model, m, "wilson_lo", wi[1]); add("summary", model, m, "wilson_hi", wi[2])
  }
  r <- roc(d$label, d$prob, levels = c(0, 1), direction = "<", quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  add("summary", model, "AUC", "estimate", as.numeric(auc(r)))
  add("summary", model, "AUC", "cp_lo", ci[1]); add("summary", model, "AUC", "cp_hi", ci[3])
  fa <- sapply(1:3, function(f) as.numeric(auc(roc(d$label[d$fold == f], d$prob[d$fold == f], levels = c(0, 1),
                                                  direction = "<", quiet = TRUE))))
  fs <- sapply(1:3, function(f) { q <- props(d$label[d$fold == f], d$prob[d$fold == f])$sensitivity; q[1] / q[2] })
  for (f in 1:3) add("per_fold", model, "AUC", as.character(f), fa[f])
  add("per_fold", model, "AUC", "mean", mean(fa)); add("per_fold", model, "AUC", "sd", sd(fa))
  add("per_fold", model, "sensitivity", "mean", mean(fs)); add("per_fold", model, "sensitivity", "sd", sd(fs))
}
ra <- roc(cls$label[cls$model == "forest"], cls$prob[cls$model == "forest"], levels = c(0, 1), direction = "<", quiet = TRUE)
rb <- roc(cls$label[cls$model == "cnn"], cls$prob[cls$model == "cnn"], levels = c(0, 1), direction = "<", quiet = TRUE)
rt <- roc.test(ra, rb, method = "delong", paired = TRUE)
add("delong", "forest", "cnn", "z", rt$statistic[[1]]); add("delong", "forest", "cnn", "p", rt$p.value)

# ---- agreement: areas of two annotators and a model ----
set.seed(20261203)
ar <- data.frame()
for (cl in c("nerve", "vessel")) {
  truth <- round(runif(24, 200, 2000))
  ar <- rbind(ar, data.frame(model = "unet", fold = rep(1:2, each = 12), case = sprintf("c%02d", 1:24), class = cl,
                             area_ref = truth, area_ann2 = round(truth * runif(24, 0.85, 1.15) + rnorm(24, 40, 60)),
                             area_model = round(truth * runif(24, 0.7, 1.1) + rnorm(24, 0, 150))))
}
write.csv(ar, "tests/fixtures/study/areas_small.csv", row.names = FALSE, quote = FALSE)
cmp <- list("annotator 1 vs annotator 2" = c("area_ref", "area_ann2"), "annotator 1 vs model" = c("area_ref", "area_model"),
            "annotator 2 vs model" = c("area_ann2", "area_model"))
for (cl in c("nerve", "vessel")) for (k in names(cmp)) {
  d <- ar[ar$class == cl, cmp[[k]]]
  ic <- ICC(d, lmer = FALSE)$results
  row <- ic[ic$type == "ICC2", ]
  key <- paste0(cl, ":", k)
  add("icc", "unet", "icc", key, row$ICC); add("icc", "unet", "ci_lo", key, row[["lower bound"]])
  add("icc", "unet", "ci_hi", key, row[["upper bound"]]); add("icc", "unet", "F", key, row$F)
  add("icc", "unet", "p", key, row$p)
}
out$value <- sprintf("%.15g", out$value)
write.csv(out, "tests/fixtures/study/r_reference_cls.csv", row.names = FALSE, quote = FALSE)
cat("wrote", nrow(cls), "classification rows,", nrow(ar), "area rows and", nrow(out), "reference values\n")
