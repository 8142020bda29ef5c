"""Flows that span several domains, one transaction each: signing up (user + team),
accepting an invitation (user + membership), onboarding a client (client + invoice
settings + project + board + contacts).

This package sits above the domains it calls: domains never import it, routers do.
"""
