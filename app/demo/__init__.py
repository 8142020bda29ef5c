"""`hourline demo`: a believable agency to explore, made through Hourline's own API.

    agency   what the demo agency is: people, clients, projects, tasks, rates (data only)
    people   the demo team and its members (the one part made by services: the API adds
             members only through emailed invitations), finding and deleting it
    seed     everything else, driven through the API in-process, so every rule, event and
             email of the real system happens
    run      one run: find or reset the team, seed it, print the logins and a curl tour

An entry point like `app.cli`: it may import domains and `app.main`; nothing imports it
but `app.cli`.
"""
