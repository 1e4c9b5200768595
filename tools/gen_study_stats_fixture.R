#!/usr/bin/env Rscript
# Reference values for tests/test_study.c (dolor_study_tables): a small per-case table of two models, three folds,
# background + three foreground classes (some undefined values, NA), and what R says about it:
#   per fold means and the mean/SD (sample and population) of the fold means,
#   per class mean, sd, t.test CI, quantile(type = 7) median/P25/P75 over the pooled cases,
#   summary(aov(y ~ class)) and pairwise.t.test(y, class, p.adjust.method = "bonferroni").
# Run by hand from the repository root: Rscript tools/gen_study_stats_fixture.R
# Writes tests/fixtures/study/per_case_small.csv and tests/fixtures/study/r_reference.csv.
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
