# Reference values from R for tests/test_stats_tests.c (run by hand, never by CI):
#   Rscript examples/table1/r_reference.R > examples/table1/r_reference.csv
# R 4.2.2 + car. Re-derives the test that "dolor stats table" chooses for every row
# of the documented Table 1 of trial.csv and its p-values, and a few extra values
# (quantile types 6/7, Kruskal-Wallis, Holm-adjusted pairwise t, Hodges-Lehmann).
suppressPackageStartupMessages(library(car))
d <- read.csv(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "trial.csv"),
              stringsAsFactors = FALSE)
alpha <- 0.05
g <- factor(d$arm)
out <- data.frame(key = character(), test = character(), p = numeric(), p1 = numeric())
add <- function(key, test, p, p1 = NA) out[nrow(out) + 1, ] <<- list(key, test, p, p1)
f17 <- function(v) sprintf("%.17g", v)
for (v in c("age", "bmi", "duration_months", "vas_0", "odi_0", "vas_1m", "vas_6m", "odi_1m", "odi_6m")) {
  ok <- !is.na(d[[v]]); y <- d[[v]][ok]; gg <- droplevels(g[ok])
  normal <- all(tapply(y, gg, function(z) shapiro.test(z)$p.value) >= alpha)
  if (normal) {
    lev <- leveneTest(y ~ gg, center = mean)[1, "Pr(>F)"]
    eq <- lev >= alpha
    x1 <- y[gg == levels(gg)[1]]; x2 <- y[gg == levels(gg)[2]]
    h <- t.test(x1, x2, var.equal = eq)
    hl <- t.test(x1, x2, var.equal = eq, alternative = "less")$p.value
    hg <- t.test(x1, x2, var.equal = eq, alternative = "greater")$p.value
    add(v, if (eq) "Student t" else "Welch t", h$p.value, min(hl, hg))
  } else {
    x1 <- y[gg == levels(gg)[1]]; x2 <- y[gg == levels(gg)[2]]
    h <- suppressWarnings(wilcox.test(x1, x2))
    hl <- suppressWarnings(wilcox.test(x1, x2, alternative = "less"))$p.value
    hg <- suppressWarnings(wilcox.test(x1, x2, alternative = "greater"))$p.value
    add(v, "Mann-Whitney U", h$p.value, min(hl, hg))
  }
}
for (v in c("sex", "complication")) {
  tab <- table(g, d[[v]])
  e <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (min(e$expected) >= 5) add(v, "chi-square", e$p.value) else {
    f <- fisher.test(tab)
    p1 <- if (all(dim(tab) == 2)) min(fisher.test(tab, alternative = "less")$p.value,
                                      fisher.test(tab, alternative = "greater")$p.value) else NA
    add(v, "Fisher exact", f$p.value, p1)
  }
}
x1 <- d$pfirrmann[g == levels(g)[1]]; x2 <- d$pfirrmann[g == levels(g)[2]]
add("pfirrmann", "Mann-Whitney U", suppressWarnings(wilcox.test(x1, x2))$p.value,
    min(suppressWarnings(wilcox.test(x1, x2, alternative = "less"))$p.value,
        suppressWarnings(wilcox.test(x1, x2, alternative = "greater"))$p.value))
for (ch in list(c("vas_0", "vas_1m"), c("vas_0", "vas_6m"), c("odi_0", "odi_1m"), c("odi_0", "odi_6m"))) {
  for (lv in levels(g)) {
    s <- d[g == lv & !is.na(d[[ch[1]]]) & !is.na(d[[ch[2]]]), ]
    b <- s[[ch[1]]]; f <- s[[ch[2]]]
    key <- sprintf("%s vs %s [%s]", ch[2], ch[1], lv)
    if (shapiro.test(f - b)$p.value >= alpha) {
      add(key, "paired t", t.test(f, b, paired = TRUE)$p.value,
          min(t.test(f, b, paired = TRUE, alternative = "less")$p.value,
              t.test(f, b, paired = TRUE, alternative = "greater")$p.value))
    } else {
      w <- function(a) suppressWarnings(wilcox.test(f, b, paired = TRUE, alternative = a))$p.value
      add(key, "Wilcoxon signed rank", w("two.sided"), min(w("less"), w("greater")))
    }
  }
}
# the same rules with 4 groups (pfirrmann grade as the group): ANOVA / Welch ANOVA / Kruskal-Wallis, r x c tables
gp <- factor(d$pfirrmann)
for (v in c("age", "bmi", "duration_months", "vas_0", "vas_1m", "vas_6m", "odi_0", "odi_1m", "odi_6m")) {
  ok <- !is.na(d[[v]]); y <- d[[v]][ok]; gg <- droplevels(gp[ok])
  normal <- all(tapply(y, gg, function(z) shapiro.test(z)$p.value) >= alpha)
  if (normal) {
    if (leveneTest(y ~ gg, center = mean)[1, "Pr(>F)"] >= alpha)
      add(paste0("g4:", v), "one-way ANOVA", summary(aov(y ~ gg))[[1]][1, "Pr(>F)"])
    else add(paste0("g4:", v), "Welch ANOVA", oneway.test(y ~ gg)$p.value)
  } else add(paste0("g4:", v), "Kruskal-Wallis", kruskal.test(y, gg)$p.value)
}
for (v in c("sex", "complication", "arm")) {
  tab <- table(gp, d[[v]])
  e <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (min(e$expected) >= 5) add(paste0("g4:", v), "chi-square", e$p.value)
  else add(paste0("g4:", v), "Fisher exact", fisher.test(tab)$p.value)
}
# three normal groups with very different spreads (written to welch3.csv): Welch ANOVA
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
w3 <- data.frame(g = rep(c("A", "B", "C"), each = 12),
                 y = round(c(qnorm(ppoints(12)) * 1 + 10, qnorm(ppoints(12)) * 5 + 12, qnorm(ppoints(12)) * 10 + 15), 3))
write.csv(w3, file.path(here, "welch3.csv"), row.names = FALSE, quote = FALSE)
stopifnot(all(tapply(w3$y, w3$g, function(z) shapiro.test(z)$p.value) >= alpha),
          leveneTest(y ~ factor(g), w3, center = mean)[1, "Pr(>F)"] < alpha)
add("w3:y", "Welch ANOVA", oneway.test(y ~ g, w3)$p.value)
# extra values
add("quantile7.age.p25", "value", quantile(d$age, 0.25, type = 7))
add("quantile7.age.p75", "value", quantile(d$age, 0.75, type = 7))
add("quantile6.age.p25", "value", quantile(d$age, 0.25, type = 6))
add("quantile6.age.p75", "value", quantile(d$age, 0.75, type = 6))
add("quantile6.duration.p10", "value", quantile(d$duration_months, 0.10, type = 6))
add("kruskal.age.pfirrmann.stat", "value", kruskal.test(d$age, factor(d$pfirrmann))$statistic)
add("kruskal.age.pfirrmann.p", "value", kruskal.test(d$age, factor(d$pfirrmann))$p.value)
pw <- pairwise.t.test(d$age, factor(d$pfirrmann), p.adjust.method = "holm")$p.value
for (i in 1:3) for (j in 1:i) add(sprintf("holm.age.pfirrmann.%d.%d", i, j - 1), "value", pw[i, j])
add("sd.age", "value", sd(d$age))
add("spearman.vas0.odi0.p", "value", suppressWarnings(cor.test(d$vas_0, d$odi_0, method = "spearman"))$p.value)
# Hodges-Lehmann shift of the oracle case exact_n12_n15_no_ties (R's exact-test estimate)
hx <- c(0.286,-0.345,0.326,-1.697,-1.285,-0.075,0.267,0.056,-2.304,0.189,0.693,0.224)
hy <- c(1.198,1.813,0.152,1.448,1.007,0.864,1.469,0.426,0.556,-0.188,2.042,-0.883,2.243,0.335,1.494)
add("hodges_lehmann.exact_n12_n15", "value", wilcox.test(hx, hy, conf.int = TRUE)$estimate)
# Spearman exact permutation branch (n <= 9) of pRho
sx <- c(3.1, 1.2, 5.5, 4.4, 2.0, 6.7, 7.1); sy <- c(2.2, 1.0, 4.1, 6.3, 3.3, 5.0, 7.7)
add("spearman.n7.p", "value", cor.test(sx, sy, method = "spearman")$p.value)
add("spearman.n7.p_greater", "value", cor.test(sx, sy, method = "spearman", alternative = "greater")$p.value)
cat("key,test,p,p1\n")
for (i in seq_len(nrow(out)))
  cat(sprintf("\"%s\",%s,%s,%s\n", out$key[i], out$test[i], f17(out$p[i]), if (is.na(out$p1[i])) "" else f17(out$p1[i])))
