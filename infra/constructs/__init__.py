"""One construct per concern of the tenant pipelines stack."""
