# An uncaught exception deep in a call chain: multi-frame traceback with source lines,
# carets, and exit status 1.
import json


class Parser:
    def parse(self, text):
        return self._decode(text)

    def _decode(self, text):
        return json.loads(text)["value"]


def load(items):
    return [Parser().parse(t) for t in items]


print(load(['{"value": 1}']))
print(load(['{"value": 2}', '{"other": 3}']))
print("not reached")
