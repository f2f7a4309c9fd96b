"""Preparation messages, reminders and patient replies: planning, delivery, consent, views.

`planning` turns appointment changes into planned messages and their jobs (in the booking's own
transaction), `delivery` sends one message when its job runs, `replies` reads what patients answer,
`contacts` keeps contact details and consent, `views` serves the screens. The adapters they need
(calendar files, PDF letters, the no-show model) come through `ports.MessagingTools`, handed in by
`radflow.wiring.reminders`.
"""
