"""The Matrix adapter: Alongside in Matrix rooms, encrypted ones included (matrix-nio 0.26).

* :mod:`client` logs in (token or first password login) and opens the crypto store;
* :mod:`adapter` syncs, turns commands into invocations, renders intents, delivers the outbox;
* :mod:`events` decides whether a message is a command addressed to the bot (pure);
* :mod:`render` turns a text into a message with a plain body and HTML (pure);
* :mod:`sender` keeps one ordered queue per destination and respects rate limits;
* :mod:`rooms` keeps each member's private room, each pair's room and the power levels;
* :mod:`runner` is `alongside run --adapter matrix`.

A Matrix room is a community (or, with ``share_space_community``, the space it belongs to). A
member's private room with the bot belongs to one community: the bot opens one per community
the first time it needs to say something privately, and commands typed there act in that
community.
"""

PLATFORM = "matrix"
