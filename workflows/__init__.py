"""Business workflows: definitions, templates, runs and their driver, owned by business_automation."""
