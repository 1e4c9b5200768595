# Reference for dolor's repeated-measures tests (src/stats/repeated.c): friedman.test, aov with
# Error(subject/reader) and pairwise.wilcox.test(paired = TRUE, bonferroni) on reader-study-like data.
# Writes tests/fixtures/stats/repeated.txt. Run by hand: Rscript tools/gen_repeated_fixture.R
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(sub("--file=", "", args[grep("--file=", args)]))
out <- file.path(here, "..", "tests", "fixtures", "stats", "repeated.txt")
set.seed(7)
sets <- list()
# 1: 24 images x 4 readers (senior, intermediate, junior, model), IoU-like, no ties: exact signed rank
n <- 24; base <- runif(n, 0.5, 0.9)
y1 <- cbind(base + rnorm(n, 0.05, 0.04), base + rnorm(n, 0.02, 0.05), base + rnorm(n, -0.03, 0.06), base + rnorm(n, 0.04, 0.03))
sets[[1]] <- pmin(pmax(y1, 0), 1)
# 2: 15 subjects x 3 conditions rounded to 1 decimal: ties within blocks and in the differences (normal approx)
sets[[2]] <- round(matrix(rnorm(45, rep(c(5, 5.4, 6), each = 15), 0.6), 15, 3), 1)
# 3: 60 subjects x 3 (n >= 50: normal approximation without ties)
sets[[3]] <- matrix(rnorm(180, rep(c(0.70, 0.72, 0.69), each = 60), 0.1), 60, 3)
con <- file(out, "w")
writeLines(sprintf("# %s: sets of 'set n k', n rows of k values, then results", R.version.string), con)
for (s in seq_along(sets)) {
  y <- sets[[s]]; n <- nrow(y); k <- ncol(y)
  writeLines(sprintf("set %d %d", n, k), con)
  for (i in 1:n) writeLines(paste(sprintf("%.17g", y[i, ]), collapse = " "), con)
  f <- friedman.test(y)
  writeLines(sprintf("friedman %.17g %.17g %.17g", f$statistic, f$parameter, f$p.value), con)
  d <- data.frame(y = as.vector(y), subject = factor(rep(1:n, k)), reader = factor(rep(1:k, each = n)))
  a <- summary(aov(y ~ reader + Error(subject / reader), data = d))
  w <- a[["Error: subject:reader"]][[1]]
  sub <- a[["Error: subject"]][[1]]
  writeLines(sprintf("rmanova %.17g %.17g %.17g %.17g %.17g %.17g %.17g", w[1, "F value"], w[1, "Df"], w[2, "Df"],
                     w[1, "Pr(>F)"], w[1, "Sum Sq"], w[2, "Sum Sq"], sub[1, "Sum Sq"]), con)
  pw <- suppressWarnings(pairwise.wilcox.test(d$y, d$reader, paired = TRUE, p.adjust.method = "bonferroni"))$p.value
  for (i in 2:k) for (j in 1:(i - 1)) writeLines(sprintf("pair %d %d %.17g", i - 1, j - 1, pw[i - 1, j]), con)
}
close(con)
cat("wrote", out, "\n")
