"""DynamoDB adapters: tenant directory, jobs ledger and tenant data, with injected clients."""
