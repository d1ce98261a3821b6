# Reference MAP fits from R's mclust, for notebook 04 and tests/test_em_bayes.py.
#
#   Rscript tests/mclust_reference.R > data/mclust_reference.json   (from the repository root)
#
# For notebook 01's 500 points and for iris (R's built-in `iris`, which equals scikit-learn's
# load_iris(): the test checks it), K = G = 3 and the four covariance models VVV, VVI, EEE, VII
# (full, diag, tied, spherical), it prints as JSON:
# * the hierarchical-clustering start mclust uses (`hclass` of `hc` with mclust's default
#   hcModelName and hcUse), so that Python can start EM from the same partition;
# * mclust's MAP fit under its default conjugate prior, `prior = priorControl()`, run to a
#   tolerance tight enough for a 1e-4 comparison: the log-likelihood log p(X | theta) at the
#   MAP estimate (mclust reports that, without the prior's log density), BIC as mclust reports
#   it (2 loglik - df log N: higher is better), df, the iterations, and the parameters;
# * mclust's BIC over G = 1..8 for VVV with the prior (mclust's own starts).
# Only base R and mclust are needed; the JSON is written by hand (no jsonlite).

suppressPackageStartupMessages(library(mclust))

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
root <- normalizePath(file.path(dirname(script), ".."))
points <- as.matrix(read.csv(file.path(root, "data", "three_gaussians.csv"))[, 1:2])
datasets <- list(three_gaussians = unname(points), iris = unname(as.matrix(iris[, 1:4])))
models <- c(full = "VVV", diag = "VVI", tied = "EEE", spherical = "VII")
control <- emControl(tol = c(1e-12, sqrt(.Machine$double.eps)))

num <- function(x) paste0("[", paste(sprintf("%.17g", as.vector(x)), collapse = ", "), "]")
# K x D means, K x D x D covariances, as nested JSON lists in Python's (K, D, D) order
means_json <- function(mu) num_rows(t(mu))
num_rows <- function(m) paste0("[", paste(apply(m, 1, num), collapse = ", "), "]")
sigma_json <- function(sigma) {
  paste0("[", paste(vapply(seq_len(dim(sigma)[3]), function(k) num_rows(sigma[, , k]), ""),
                    collapse = ", "), "]")
}

fit_json <- function(X, name, hc_pairs) {
  fit <- Mclust(X, G = 3, modelNames = models[[name]], prior = priorControl(), control = control,
                initialization = list(hcPairs = hc_pairs), verbose = FALSE)
  p <- fit$parameters
  # Mclust keeps no iteration count; me() from the same start is the same EM and keeps one
  again <- me(X, modelName = models[[name]], z = unmap(hclass(hc_pairs, 3)), prior = priorControl(),
              control = control)
  stopifnot(isTRUE(all.equal(again$loglik, fit$loglik, tolerance = 1e-12)))
  sprintf(paste0('      "%s": {"model": "%s", "log_likelihood": %.17g, "bic": %.17g, "df": %d, ',
                 '"n_iter": %d,\n        "weights": %s,\n        "means": %s,\n',
                 '        "covariances": %s}'),
          name, models[[name]], fit$loglik, fit$bic, as.integer(fit$df),
          as.integer(attr(again, "info")[["iterations"]]), num(p$pro), means_json(p$mean),
          sigma_json(p$variance$sigma))
}

dataset_json <- function(name) {
  X <- datasets[[name]]
  hc_pairs <- hc(X, modelName = mclust.options("hcModelName"), use = mclust.options("hcUse"))
  start <- hclass(hc_pairs, 3)
  fits <- vapply(names(models), function(m) fit_json(X, m, hc_pairs), "")
  bic_vvv <- mclustBIC(X, G = 1:8, modelNames = "VVV", prior = priorControl(), control = control,
                       verbose = FALSE)
  sprintf(paste0('  "%s": {\n    "n_samples": %d,\n    "start_labels": [%s],\n',
                 '    "bic_full_by_K": %s,\n    "fits": {\n%s\n    }\n  }'),
          name, nrow(X), paste(start, collapse = ", "), num(bic_vvv[, "VVV"]),
          paste(fits, collapse = ",\n"))
}

cat(sprintf('{\n  "mclust_version": "%s",\n  "emControl_tol": %s,\n%s\n}\n',
            as.character(packageVersion("mclust")), num(control$tol),
            paste(vapply(names(datasets), dataset_json, ""), collapse = ",\n")))
