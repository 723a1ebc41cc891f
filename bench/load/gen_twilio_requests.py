#!/usr/bin/env python3
"""Writes signed Twilio webhook requests for the load test: one line per request,
"<signature>\t<form body>", for COUNT distinct sender phones PHONE_PREFIX + 7 digits, numbered
from FIRST (each message id unique). Lists for several server instances take disjoint ranges
(FIRST = k * COUNT), so no instance replays another's messages or phones. Message ids are Twilio
SIDs ("SM" and 32 hex digits, which the webhook requires), the MD5 of ID_PREFIX and the number.
Usage: gen_twilio_requests.py URL TOKEN TO COUNT OUT [PHONE_PREFIX=+1415] [ID_PREFIX=SMload]
                              [FIRST=0]"""
import base64
import hashlib
import hmac
import sys
import urllib.parse

def main():
    url, token, to, count, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    prefix = sys.argv[6] if len(sys.argv) > 6 else "+1415"
    id_prefix = sys.argv[7] if len(sys.argv) > 7 else "SMload"
    first = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    bodies = ["START", "Yes see you at 5", "STOP", "thanks!", "please stop texting me", "HELP"]
    with open(out, "w") as f:
        for i in range(first, first + count):
            params = {
                "From": prefix + "%07d" % i,
                "To": to,
                "Body": bodies[i % len(bodies)],
                "MessageSid": "SM" + hashlib.md5((id_prefix + "%010d" % i).encode()).hexdigest(),
                "AccountSid": "AC00000000000000000000000000000000",
            }
            data = url + "".join(k + params[k] for k in sorted(params))
            sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
            f.write(sig + "\t" + urllib.parse.urlencode(params) + "\n")

main()
