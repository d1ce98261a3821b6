# Reference weighted EM fits from R's mclust (me.weighted), for tests/test_em_incomplete.py.
#
#   Rscript tests/mclust_weighted_reference.R > data/mclust_weighted_reference.json   (from the repository root)
#
# On Old Faithful (data/faithful.csv) with K = 2 and on iris (R's built-in `iris`) with K = 3,
# each with the four covariance models VVV, VVI, EEE, VII (full, diag, tied, spherical) and
# weights w_i = 0.5 + ((7 i) mod 10) / 4 (i = 1..N: positive, not integers, max 2.75), it prints as JSON:
# * the start: mclust's hierarchical-clustering partition (`hclass` of `hc`), so that Python
#   starts EM from the same labels;
# * me.weighted's fit from those labels, run to a tolerance tight enough for a 1e-6 comparison:
#   the parameters and its log-likelihood, sum_i w_i log p(x_i | theta) with the weights as
#   me.weighted uses them, rescaled to a maximum of 1 ("weight_scale" is that maximum).
# Only base R and mclust are needed; the JSON is written by hand (no jsonlite).

suppressPackageStartupMessages(library(mclust))

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
root <- normalizePath(file.path(dirname(script), ".."))
faithful_csv <- as.matrix(read.csv(file.path(root, "data", "faithful.csv")))
datasets <- list(faithful = list(X = unname(faithful_csv), K = 2),
                 iris = list(X = unname(as.matrix(iris[, 1:4])), K = 3))
models <- c(full = "VVV", diag = "VVI", tied = "EEE", spherical = "VII")
control <- emControl(tol = c(1e-13, sqrt(.Machine$double.eps)), itmax = c(5000, 5000))

num <- function(x) paste0("[", paste(sprintf("%.17g", as.vector(x)), collapse = ", "), "]")
num_rows <- function(m) paste0("[", paste(apply(m, 1, num), collapse = ", "), "]")
means_json <- function(mu) num_rows(t(mu))
sigma_json <- function(sigma) {
  paste0("[", paste(vapply(seq_len(dim(sigma)[3]), function(k) num_rows(sigma[, , k]), ""),
                    collapse = ", "), "]")
}

case_json <- function(name, model) {
  X <- datasets[[name]]$X
  K <- datasets[[name]]$K
  weights <- 0.5 + ((7 * seq_len(nrow(X))) %% 10) / 4
  start <- hclass(hc(X, modelName = mclust.options("hcModelName"), use = mclust.options("hcUse")), K)
  fit <- me.weighted(X, modelName = models[[model]], z = unmap(start), weights = weights,
                     control = control, warn = FALSE)
  p <- fit$parameters
  sigma <- p$variance$sigma
  sprintf(paste0('    {"name": "%s %s", "covariance_type": "%s", "model": "%s", "weight_scale": %.17g,\n',
                 '     "X": %s,\n     "weights": %s,\n     "start_labels": [%s],\n',
                 '     "fit": {"log_likelihood": %.17g, "weights": %s, "means": %s,\n',
                 '             "covariances": %s}}'),
          name, model, model, models[[model]], max(weights), num_rows(X), num(weights),
          paste(start - 1, collapse = ", "), fit$loglik, num(p$pro), means_json(p$mean), sigma_json(sigma))
}

cases <- unlist(lapply(names(datasets), function(d) vapply(names(models), function(m) case_json(d, m), "")))
cat(sprintf('{\n  "mclust_version": "%s",\n  "emControl_tol": %s,\n  "cases": [\n%s\n  ]\n}\n',
            as.character(packageVersion("mclust")), num(control$tol), paste(cases, collapse = ",\n")))
