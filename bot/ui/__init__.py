"""Discord-facing pieces shared by the cogs: replies, error reporting, base views."""
