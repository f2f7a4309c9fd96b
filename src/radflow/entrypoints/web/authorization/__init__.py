"""Screens of the authorization coordinators: their queue and the actions on a request."""
