# Reference values for tests/test_stats_agreement_roc.c that are not in ../shared/oracle:
# sample sizes (R's stats::power.prop.test / power.t.test) and a small ROC
# curve (pROC 1.18.0). Run by hand (Debian: r-base-core, r-cran-proc):
#   Rscript tools/gen_stats_agreement_roc_reference.R
# and paste the printed numbers into the test where its comments say.
options(digits = 15)
cat("power.prop.test(0.5, 0.75, power .9):",
    power.prop.test(p1 = 0.5, p2 = 0.75, power = 0.9, tol = 1e-12)$n, "\n")
cat("power.prop.test(0.2, 0.35, power .8, one-sided):",
    power.prop.test(p1 = 0.2, p2 = 0.35, power = 0.8, alternative = "one.sided", tol = 1e-12)$n, "\n")
cat("power.t.test(delta .5, sd 1, power .8):",
    power.t.test(delta = 0.5, sd = 1, power = 0.8, tol = 1e-12)$n, "\n")
cat("power.t.test(delta 10, sd 15, power .9, one-sided):",
    power.t.test(delta = 10, sd = 15, power = 0.9, alternative = "one.sided", tol = 1e-12)$n, "\n")
if (requireNamespace("pROC", quietly = TRUE)) {
  suppressMessages(library(pROC))
  y <- c(0, 0, 1, 1, 0, 1, 0, 1, 1, 0)
  x <- c(0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.7, 0.55)
  r <- roc(y, x, levels = c(0, 1), direction = "<", quiet = TRUE)
  print(cbind(threshold = r$thresholds, se = r$sensitivities, sp = r$specificities)); print(auc(r))
  r <- roc(y, -x, levels = c(0, 1), direction = ">", quiet = TRUE)
  print(cbind(threshold = r$thresholds, se = r$sensitivities, sp = r$specificities)); print(auc(r))
  r <- roc(y, -x, levels = c(0, 1), quiet = TRUE); cat("auto direction:", r$direction, "\n")
}
# ROC curves on the oracle's ordinal case (../shared/oracle/roc_delong.json,
# case ordinal_5point_reader_n100), as pasted into test_roc_oracle:
if (requireNamespace("pROC", quietly = TRUE) && requireNamespace("jsonlite", quietly = TRUE)) {
  cs <- jsonlite::fromJSON("../shared/oracle/roc_delong.json")$cases
  inp <- cs$inputs[cs$name == "ordinal_5point_reader_n100", ]
  y <- unlist(inp$y); m1 <- unlist(inp$marker1); m2 <- unlist(inp$marker2)
  r <- pROC::roc(y, m1, levels = c(0, 1), direction = "<", quiet = TRUE)
  print(cbind(r$thresholds, r$sensitivities, r$specificities))
  r <- pROC::roc(y, m2, levels = c(0, 1), direction = ">", quiet = TRUE)
  print(cbind(r$thresholds, r$sensitivities, r$specificities)); print(pROC::auc(r))
}
