"""W8 fanout, uvloop: the asyncio program (asyncio_impl.py) on uvloop's event loop."""

import uvloop
from asyncio_impl import main

if __name__ == "__main__":
    main("uvloop", uvloop.new_event_loop)
