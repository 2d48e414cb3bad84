"""Deployment: the local stack launcher (embedded defaults) and the `moe` command."""
