"""The sandboxed verifier service: isolated execution of untrusted programs against tests.

Modules: limits (Limits, ServiceConfig), seccomp (the BPF denylist), isolation (levels, probe facts,
bwrap command line), process (one limited run), launcher (a slot's subreaper process), languages,
comparators, requests (validation), judge (one submission), compat (Piston packages, SandboxFusion),
slots (fair admission), service, server (HTTP), client.
Nothing here imports torch; the server imports only the standard library and yaml.
"""
