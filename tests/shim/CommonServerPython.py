"""The part of XSOAR's CommonServerPython the shim uses, with the same signatures and behaviour
as Packs/Base/Scripts/CommonServerPython/CommonServerPython.py in demisto/content:

- `return_error` posts an error entry and exits (SystemExit 0), except in commands the server
  handles itself such as fetch-incidents, where it raises an Exception with the message.
- `get_integration_context_with_version()` returns (context, version).
- `set_integration_context(context, sync=True, version=-1)` writes through the versioned API,
  which refuses an outdated version.

`return_error` also records the message in demistomock, so a test can tell an error reported
this way from a traceback.
"""

import sys

import demistomock as demisto

entryTypes = {'note': 1, 'error': 4}
formats = {'json': 'json', 'text': 'text', 'markdown': 'markdown'}

SERVER_HANDLED_COMMANDS = ('fetch-incidents', 'fetch-credentials', 'long-running-execution',
                           'fetch-indicators', 'fetch-events', 'fetch-assets')


def return_error(message, error='', outputs=None):
    if not isinstance(message, str):
        message = str(message)
    demisto.state()['errors'].append(message)
    if demisto.command() in SERVER_HANDLED_COMMANDS:
        raise Exception(message)
    demisto.results({'Type': entryTypes['error'], 'ContentsFormat': formats['text'],
                     'Contents': message, 'EntryContext': outputs})
    sys.exit(0)


def is_versioned_context_available():
    return True


def get_integration_context(sync=True, with_version=False):
    versioned = demisto.getIntegrationContextVersioned(sync)
    return versioned if with_version else versioned.get('context', {})


def set_integration_context(context, sync=True, version=-1):
    return demisto.setIntegrationContextVersioned(context, version, sync)


def get_integration_context_with_version(sync=True):
    versioned = get_integration_context(sync, with_version=True)
    return versioned.get('context', {}), (versioned.get('version', 0) if sync else -1)
