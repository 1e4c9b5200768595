# R p-values of every row of Table 1 in SPSS mode (dolor stats table --spss) on examples/table1/trial.csv,
# for tests/test_stats_table1.c (run by hand, never by CI; R 4.2.2 + car):
#   Rscript tools/gen_table1_spss_fixture.R > tests/fixtures/stats/table1_spss.csv
# The test choice is the same as in the default mode (Shapiro-Wilk -> Levene (mean) -> Student / Welch t, else
# Mann-Whitney; categorical: Pearson chi-square without correction, Fisher exact when an expected count < 5;
# ordinal: Mann-Whitney; changes: paired t or Wilcoxon signed rank). SPSS mode differs in the rank tests: SPSS's
# "Asymp. Sig." is the normal approximation with tie correction and no continuity correction, i.e.
# wilcox.test(x, y, exact = FALSE, correct = FALSE) (and paired = TRUE for the signed rank test).
suppressPackageStartupMessages(library(car))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "..", "examples", "table1", "trial.csv"), stringsAsFactors = FALSE)
alpha <- 0.05
g <- factor(d$arm)
out <- data.frame(key = character(), test = character(), p = numeric(), p1 = numeric())
add <- function(key, test, p, p1 = NA) out[nrow(out) + 1, ] <<- list(key, test, p, p1)
mw <- function(x1, x2, alt = "two.sided") wilcox.test(x1, x2, exact = FALSE, correct = FALSE, alternative = alt)$p.value
for (v in c("age", "bmi", "duration_months", "vas_0", "odi_0", "vas_1m", "vas_6m", "odi_1m", "odi_6m")) {
  ok <- !is.na(d[[v]]); y <- d[[v]][ok]; gg <- droplevels(g[ok])
  x1 <- y[gg == levels(gg)[1]]; x2 <- y[gg == levels(gg)[2]]
  if (all(tapply(y, gg, function(z) shapiro.test(z)$p.value) >= alpha)) {
    eq <- leveneTest(y ~ gg, center = mean)[1, "Pr(>F)"] >= alpha
    tt <- function(alt) t.test(x1, x2, var.equal = eq, alternative = alt)$p.value
    add(v, if (eq) "Student t" else "Welch t", tt("two.sided"), min(tt("less"), tt("greater")))
  } else {
    add(v, "Mann-Whitney U", mw(x1, x2), min(mw(x1, x2, "less"), mw(x1, x2, "greater")))
  }
}
for (v in c("sex", "complication")) {
  tab <- table(g, d[[v]])
  e <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (min(e$expected) >= 5) add(v, "chi-square", e$p.value) else {
    p1 <- if (all(dim(tab) == 2)) min(fisher.test(tab, alternative = "less")$p.value,
                                      fisher.test(tab, alternative = "greater")$p.value) else NA
    add(v, "Fisher exact", fisher.test(tab)$p.value, p1)
  }
}
x1 <- d$pfirrmann[g == levels(g)[1]]; x2 <- d$pfirrmann[g == levels(g)[2]]
add("pfirrmann", "Mann-Whitney U", mw(x1, x2), min(mw(x1, x2, "less"), mw(x1, x2, "greater")))
for (ch in list(c("vas_0", "vas_1m"), c("vas_0", "vas_6m"), c("odi_0", "odi_1m"), c("odi_0", "odi_6m"))) {
  for (lv in levels(g)) {
    s <- d[g == lv & !is.na(d[[ch[1]]]) & !is.na(d[[ch[2]]]), ]
    b <- s[[ch[1]]]; f <- s[[ch[2]]]
    key <- sprintf("%s vs %s [%s]", ch[2], ch[1], lv)
    if (shapiro.test(f - b)$p.value >= alpha) {
      pt <- function(alt) t.test(f, b, paired = TRUE, alternative = alt)$p.value
      add(key, "paired t", pt("two.sided"), min(pt("less"), pt("greater")))
    } else {
      w <- function(alt) wilcox.test(f, b, paired = TRUE, exact = FALSE, correct = FALSE, alternative = alt)$p.value
      add(key, "Wilcoxon signed rank", w("two.sided"), min(w("less"), w("greater")))
    }
  }
}
cat("key,test,p,p1\n")
for (i in seq_len(nrow(out)))
  cat(sprintf("\"%s\",%s,%.17g,%s\n", out$key[i], out$test[i], out$p[i],
              if (is.na(out$p1[i])) "" else sprintf("%.17g", out$p1[i])))
