"""Layer app (the top): the server a learner runs.

routes (the OpenAI endpoints), server (create_app, LocalServer, running on a socket), cli (the
two command lines), background + replay (resumable `background: true` responses), cancel,
demo (+ demo_page.html, the classroom demo). May import every layer below.
"""
