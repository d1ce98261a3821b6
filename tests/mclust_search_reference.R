# Reference model searches from R's mclust, for notebook 05 and tests/test_em_select.py.
#
#   Rscript tests/mclust_search_reference.R > data/mclust_search_reference.json   (from the repository root)
#
# For Old Faithful (data/faithful.csv, which equals R's built-in `faithful`) and four of the
# data sets mclust ships (diabetes, banknote, thyroid, wreath: their label column dropped),
# Mclust(X, G = 1:9, modelNames = c("VII", "VVI", "EEE", "VVV")) with mclust's defaults (its
# hierarchical start, no prior, emControl()'s tolerance), and prints as JSON per data set:
# the log-likelihood, the number of parameters and BIC of every (model, G) pair (BIC as mclust
# reports it, 2 loglik - df log N: higher is better; null where mclust returns NA), the model
# mclust chooses, and the seconds one such call takes here (median of 5). Only base R and mclust.

suppressPackageStartupMessages(library(mclust))

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
root <- normalizePath(file.path(dirname(script), ".."))
faithful_csv <- as.matrix(read.csv(file.path(root, "data", "faithful.csv")))
stopifnot(all(faithful_csv == as.matrix(faithful)))
datasets <- list(faithful = faithful_csv, diabetes = as.matrix(diabetes[, -1]),
                 banknote = as.matrix(banknote[, -1]), thyroid = as.matrix(thyroid[, -1]),
                 wreath = as.matrix(wreath))
models <- c(spherical = "VII", diag = "VVI", tied = "EEE", full = "VVV")

num <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))
entries <- character(0)
for (name in names(datasets)) {
  X <- datasets[[name]]
  n <- nrow(X)
  seconds <- numeric(5)
  for (r in 1:5) {
    t0 <- proc.time()[["elapsed"]]
    fit <- Mclust(X, G = 1:9, modelNames = unname(models), verbose = FALSE)
    seconds[r] <- proc.time()[["elapsed"]] - t0
  }
  pairs <- character(0)
  for (type in names(models)) {
    for (G in 1:9) {
      bic <- fit$BIC[as.character(G), models[[type]]]
      df <- nMclustParams(models[[type]], ncol(X), G)
      loglik <- (bic + df * log(n)) / 2
      pairs <- c(pairs, sprintf('{"covariance_type": "%s", "n_components": %d, "bic_mclust": %s, "log_likelihood": %s, "n_parameters": %d}',
                                type, G, num(bic), num(loglik), df))
    }
  }
  chosen <- names(models)[models == fit$modelName]
  entries <- c(entries, sprintf('  "%s": {\n    "n_samples": %d,\n    "chosen": {"covariance_type": "%s", "n_components": %d},\n    "seconds": %s,\n    "pairs": [\n      %s\n    ]\n  }',
                                name, n, chosen, fit$G, num(median(seconds)), paste(pairs, collapse = ",\n      ")))
}
cat(sprintf('{\n  "mclust_version": "%s",\n%s\n}\n', as.character(packageVersion("mclust")), paste(entries, collapse = ",\n")))
