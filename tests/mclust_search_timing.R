# `make bench`'s model-search row: Mclust(X, G = 1:9, modelNames = c("VII", "VVI", "EEE", "VVV")),
# mclust's defaults otherwise, on data/faithful.csv, timed inside R.
#
#   Rscript tests/mclust_search_timing.R CSV CALLS
#
# Prints the seconds of each of CALLS calls (R's start-up and reading the file are outside) and
# the model mclust chooses with its BIC (mclust's sign: higher is better). Only base R and mclust.

suppressPackageStartupMessages(library(mclust))

args <- commandArgs(trailingOnly = TRUE)
X <- as.matrix(read.csv(args[1]))
calls <- as.integer(args[2])
seconds <- numeric(calls)
for (i in seq_len(calls)) {
  t0 <- proc.time()[["elapsed"]]
  fit <- Mclust(X, G = 1:9, modelNames = c("VII", "VVI", "EEE", "VVV"), verbose = FALSE)
  seconds[i] <- proc.time()[["elapsed"]] - t0
}
cat("seconds", seconds, "\n")
cat("chosen", fit$modelName, fit$G, "\n")
cat("bic", sprintf("%.17g", fit$bic), "\n")
