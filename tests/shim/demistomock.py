"""A stand-in for XSOAR's `demisto` object, the module the shim and CommonServerPython call.

It keeps what XSOAR would keep for one instance (arguments, parameters, last run, the versioned
integration context) and records what the shim hands back, so a test can see every call. The
integration context is versioned as in XSOAR 6+: a write with a version other than the stored
one is refused with an error that names the version, and a successful write bumps it.
"""

import copy

_state = {}


def reset(command, args=None, params=None, last_run=None, context=None, version=0,
          instance='m365d_instance_1'):
    """Starts a new command run of one instance."""
    _state.clear()
    _state.update(
        command=command,
        args={} if args is None else args,
        params={} if params is None else params,
        instance=instance,
        last_run={} if last_run is None else last_run,
        context={} if context is None else copy.deepcopy(context),
        version=version,
        # Recorded calls.
        results=[],
        incidents=[],
        set_last_run=[],
        debug=[],
        errors=[],
        # Every attempted versioned write as (context, version, accepted).
        context_writes=[],
        # Called with no arguments before each write attempt; stands for another command of
        # the same instance writing the context in the meantime.
        before_write=[],
    )


def state():
    return _state


def stored_context():
    return copy.deepcopy(_state['context']), _state['version']


def other_writer(context):
    """Another command of the instance stores `context` (as XSOAR would: new version)."""
    _state['context'] = copy.deepcopy(context)
    _state['version'] += 1


def command():
    return _state['command']


def args():
    return copy.deepcopy(_state['args'])


def params():
    return copy.deepcopy(_state['params'])


def integrationInstance():
    return _state['instance']


def demistoVersion():
    return {'version': '6.12.0', 'buildNumber': '0'}


def getLastRun():
    return copy.deepcopy(_state['last_run'])


def setLastRun(obj):
    _state['set_last_run'].append(copy.deepcopy(obj))
    _state['last_run'] = copy.deepcopy(obj)


def incidents(incidents):
    _state['incidents'].append(copy.deepcopy(incidents))


def results(entry):
    _state['results'].append(copy.deepcopy(entry))


def debug(message):
    _state['debug'].append(str(message))


def info(message):
    _state['debug'].append(str(message))


def error(message):
    _state['debug'].append(str(message))


def getIntegrationContextVersioned(sync=True):
    return {'context': copy.deepcopy(_state['context']), 'version': _state['version']}


def setIntegrationContextVersioned(context, version=-1, sync=True):
    for hook in list(_state['before_write']):
        hook()
    accepted = version == -1 or version == _state['version']
    _state['context_writes'].append((copy.deepcopy(context), version, accepted))
    if not accepted:
        raise ValueError(
            'DB Version mismatch: the integration context is at version {}, the write was '
            'for version {}'.format(_state['version'], version))
    _state['context'] = copy.deepcopy(context)
    _state['version'] += 1


def getIntegrationContext():
    return copy.deepcopy(_state['context'])


def setIntegrationContext(context):
    setIntegrationContextVersioned(context)
