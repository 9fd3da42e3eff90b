"""The auditor's tools: replay to an instant, verify the views and the digest chain."""
