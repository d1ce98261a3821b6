# mclust's model-based hierarchical clustering, the start em_select.model_based_merges reproduces,
# for tests/test_em_select.py.
#
#   Rscript tests/mclust_hc_reference.R > data/mclust_hc_reference.json   (from the repository root)
#
# hc(X, modelName = "VVV", use = "SVD") -- what Mclust() starts EM from by default
# (mclust.options("hcModelName") and ("hcUse")) -- on the first 80 rows of
# data/three_gaussians.csv (its two coordinates; continuous values, so no two merges tie) and
# on the first 60 rows of mclust's diabetes data (three columns, label dropped), and prints
# every merge as mclust numbers it: the pair (i, j), i < j, of cluster labels, where a cluster is
# labelled by its first row and j's rows join i (mclust's hclass() reads them so). Only base R
# and mclust.

suppressPackageStartupMessages(library(mclust))

script <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
root <- normalizePath(file.path(dirname(script), ".."))
stopifnot(mclust.options("hcModelName") == "VVV", mclust.options("hcUse") == "SVD")
gaussians <- as.matrix(read.csv(file.path(root, "data", "three_gaussians.csv"))[1:80, c("x1", "x2")])
datasets <- list(three_gaussians_80 = gaussians, diabetes_60 = as.matrix(diabetes[1:60, -1]))
entries <- character(0)
for (name in names(datasets)) {
  X <- datasets[[name]]
  pairs <- unclass(hc(X, modelName = "VVV", use = "SVD"))[1:2, , drop = FALSE]
  rows <- apply(X, 1, function(r) sprintf("[%s]", paste(sprintf("%.17g", r), collapse = ", ")))
  merges <- apply(pairs, 2, function(p) sprintf("[%d, %d]", as.integer(p[1]), as.integer(p[2])))
  entries <- c(entries, sprintf('  "%s": {\n    "X": [%s],\n    "merges": [%s]\n  }',
                                name, paste(rows, collapse = ", "), paste(merges, collapse = ", ")))
}
cat(sprintf('{\n  "mclust_version": "%s",\n%s\n}\n', as.character(packageVersion("mclust")), paste(entries, collapse = ",\n")))
