"""A local SMTP server for the e-mail sink's tests: aiosmtpd on 127.0.0.1:<port>, writing each
message it accepts as JSON (envelope, decoded subject, headers, text body) to <dir>/<n>.json.
The MIME decoding is Python's own, independent of the sender's library.

usage: python3 smtp_sink.py <port> <dir>
"""

import email
import email.header
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "to": str(message["to"]),
            "message_id": str(message["message-id"]),
            "content_type": message.get_content_type(),
            "body": message.get_content(),
        }
        self.count += 1
        path = os.path.join(self.directory, "%04d.json" % self.count)
        with open(path + ".part", "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        os.rename(path + ".part", path)
        return "250 OK"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keep(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        # Until the test kills it, or its stdin closes.
        while sys.stdin.read(1):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
