# `make bench`'s row against R's mclust: EM for the VVV model (full covariances, scikit-learn's
# "full") from a given start, timed inside R.
#
#   Rscript tests/mclust_em_timing.R FOLDER N_ITER BATCHES CALLS
#
# FOLDER holds X.csv (N rows, D columns) and the start theta_0 as pro.csv (K weights),
# mean.csv (D rows, K columns) and sigma.csv (the D x D x K covariances, in R's column-major
# order), all without headers. em() runs an E-step from theta_0, then N_ITER M- and E-steps
# (tolerance 0: every iteration runs). It prints the final log-likelihood and, for each of
# BATCHES batches of CALLS calls, the seconds per call, measured around em() alone (R's start-up
# and the reading of the files are outside; proc.time() counts whole milliseconds, so a batch
# must last many). Only base R and mclust are needed.

suppressPackageStartupMessages(library(mclust))

args <- commandArgs(trailingOnly = TRUE)
folder <- args[1]
n_iter <- as.integer(args[2])
batches <- as.integer(args[3])
calls <- as.integer(args[4])
read <- function(name) unname(as.matrix(read.csv(file.path(folder, name), header = FALSE)))
X <- read("X.csv")
mean <- read("mean.csv")
D <- nrow(mean)
K <- ncol(mean)
sigma <- array(as.vector(read("sigma.csv")), c(D, D, K))
# em() reads the covariances through their upper Cholesky factors
cholsigma <- array(apply(sigma, 3, chol), c(D, D, K))
parameters <- list(pro = as.vector(read("pro.csv")), mean = mean,
                   variance = list(modelName = "VVV", d = D, G = K, sigma = sigma, cholsigma = cholsigma))
control <- emControl(tol = c(0, 0), itmax = c(n_iter, .Machine$integer.max))

run <- function() em(data = X, modelName = "VVV", parameters = parameters, control = control, warn = FALSE)
fit <- run()  # also warms up
stopifnot(attr(fit, "info")[["iterations"]] == -n_iter)  # negative: stopped at itmax, as asked
seconds <- vapply(seq_len(batches), function(b) {
  start <- proc.time()[["elapsed"]]
  for (i in seq_len(calls)) run()
  (proc.time()[["elapsed"]] - start) / calls
}, 0)
cat(sprintf("loglik %.17g\n", fit$loglik))
cat("seconds", sprintf("%.9g", seconds), "\n")
