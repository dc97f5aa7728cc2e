"""Measurement pieces shared by the benchmarks: CPU time, peak RSS, a do-nothing DynamoDB, data sets."""
