"""The embedded broker: kombu's filesystem transport, with each message written whole.

kombu's `_put` creates the message file, then writes it. A worker that lists the folder in
between moves the empty file away, fails to decode it and stops (`JSONDecodeError`,
"Unrecoverable error"): under load, `make run` lost its worker that way. Here the message
is written under a name the reader skips and renamed into place, which is atomic on one
filesystem, so a reader sees either no message or all of it."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The same name as kombu's (time first, so the reader takes messages in order).
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # not "<queue>.msg" after the first dot: never read
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
