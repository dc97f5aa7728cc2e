"""The import pipeline: validate a tenant's file and fan it out in batches; load the batches."""
