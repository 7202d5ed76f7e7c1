"""Runs the Python shim of integration.yml the way XSOAR's docker loop does (CommonServerPython's
names and `demisto` in the globals, `__name__ == 'builtins'`), against the real m365-defender
binary and its emulator, and against small stand-in binaries for the failures the real one
never shows (hangs, signals, broken output, files that cannot run).

Run from the repository root (cargo test --test integration shim does this):

    M365D_BINARY=target/debug/m365-defender python3 -B -m unittest discover -s tests/shim -v

Without M365D_BINARY the debug build under target/ is used. M365D_EMULATOR_BINARY names the
binary whose `emulator` subcommand serves the emulator (default: M365D_BINARY): the production
build has no emulator built in. M365D_SHIM_SOURCE names a file holding the shim's code to run
instead of the one in integration.yml: scripts/test-pack.sh runs these tests on the code of the
built content pack's unified integration, against the release binary, with the debug build as
the emulator. Only 127.0.0.1 is contacted.
"""

import ast
import json
import os
import queue
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
import unittest

import demistomock

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INTEGRATION_YML = os.path.join(REPO, 'integration.yml')

INCIDENTS_LIST = 'microsoft-365-defender-incidents-list'
HUNTING = 'microsoft-365-defender-advanced-hunting'


def shim_source():
    """The block literal under `script:` → `script: |-` in integration.yml, de-indented, or
    the file M365D_SHIM_SOURCE names."""
    if os.environ.get('M365D_SHIM_SOURCE'):
        with open(os.environ['M365D_SHIM_SOURCE'], encoding='utf-8') as source:
            return source.read()
    with open(INTEGRATION_YML, encoding='utf-8') as source:
        lines = source.read().split('\n')
    start = lines.index('  script: |-') + 1
    body = []
    for line in lines[start:]:
        if line and not line.startswith('    '):
            break
        body.append(line[4:])
    return '\n'.join(body).rstrip('\n') + '\n'


def declared_timeouts():
    """Each command's declared `timeout` default in integration.yml, read line by line."""
    with open(INTEGRATION_YML, encoding='utf-8') as source:
        lines = source.read().split('\n')
    found, command, argument = {}, None, None
    for line in lines[lines.index('  commands:'):]:
        match = re.match(r'^  - name: (\S+)$', line)
        if match:
            command, argument = match.group(1), None
        match = re.match(r'^    - name: (\S+)$', line)
        if match:
            argument = match.group(1)
        match = re.match(r"^      defaultValue: '?(\d+)'?$", line)
        if match and argument == 'timeout':
            found[command] = int(match.group(1))
    return found


SOURCE = shim_source()
CODE = compile(SOURCE, os.environ.get('M365D_SHIM_SOURCE') or 'integration.yml:script.script',
               'exec')


def shim_namespace(name):
    """Globals as XSOAR's docker loop gives them: demisto and CommonServerPython's names."""
    namespace = {'__name__': name, 'demisto': demistomock}
    exec('from CommonServerPython import *', namespace)
    return namespace


class Emulator:
    """`m365-defender emulator --port 0`, started once for the module."""

    def __init__(self, binary):
        self.process = subprocess.Popen([binary, 'emulator', '--port', '0'],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        lines = queue.Queue()

        def drain():
            for line in self.process.stderr:
                lines.put(line.decode('utf-8', errors='replace'))
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        banner, deadline = [], time.monotonic() + 30
        while not any(line.startswith('Control API') for line in banner):
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise RuntimeError('the emulator did not start:\n' + ''.join(banner))
            banner.append(line)
        # The banner prints the instance parameters as JSON members, between this line and the
        # next blank one.
        start = next(i for i, line in enumerate(banner) if 'instance parameters' in line) + 1
        end = next(i for i in range(start, len(banner)) if not banner[i].strip())
        self.params = json.loads('{' + ' '.join(banner[start:end]) + '}')
        for key in ('base_url', 'azure_ad_endpoint'):
            if not self.params[key].startswith('http://127.0.0.1:'):
                self.stop()
                raise RuntimeError('the emulator is not on 127.0.0.1: ' + self.params[key])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


REAL_BINARY = os.path.abspath(
    os.environ.get('M365D_BINARY') or os.path.join(REPO, 'target', 'debug', 'm365-defender'))
EMULATOR_BINARY = os.path.abspath(os.environ.get('M365D_EMULATOR_BINARY') or REAL_BINARY)
EMULATOR = None
WORKDIR = None
RECORDED_ENVELOPE = None
RECORDING_BINARY = None


def setUpModule():
    global EMULATOR, WORKDIR, RECORDED_ENVELOPE, RECORDING_BINARY
    if not os.access(REAL_BINARY, os.X_OK):
        raise RuntimeError(f'no m365-defender binary at {REAL_BINARY}: build it (cargo build) '
                           'or set M365D_BINARY')
    if not os.access(EMULATOR_BINARY, os.X_OK):
        raise RuntimeError(f'no emulator binary at {EMULATOR_BINARY}: build it (cargo build) '
                           'or set M365D_EMULATOR_BINARY')
    WORKDIR = tempfile.mkdtemp(prefix='m365d-shim-test-')
    RECORDED_ENVELOPE = os.path.join(WORKDIR, 'envelope.json')
    # The real binary, behind a wrapper that keeps the envelope it was given.
    RECORDING_BINARY = script('record', f'cat > {shlex.quote(RECORDED_ENVELOPE)}\n'
                                        f'exec {shlex.quote(REAL_BINARY)} '
                                        f'< {shlex.quote(RECORDED_ENVELOPE)}\n')
    EMULATOR = Emulator(EMULATOR_BINARY)


def tearDownModule():
    if EMULATOR is not None:
        EMULATOR.stop()
    if WORKDIR is not None:
        shutil.rmtree(WORKDIR, ignore_errors=True)


_names = iter(range(1_000_000))


def script(name, body, mode=0o755, interpreter='/bin/sh'):
    """Writes an executable script into the test's temporary directory; returns its path."""
    path = os.path.join(WORKDIR, f'{name}-{next(_names)}')
    with open(path, 'w', encoding='utf-8') as out:
        out.write(f'#!{interpreter}\n{body}')
    os.chmod(path, mode)
    return path


def answering(stdout, status, stderr=''):
    """A stand-in binary that reads the envelope, prints `stdout` and exits with `status`."""
    out = os.path.join(WORKDIR, f'stdout-{next(_names)}')
    err = out + '.stderr'
    with open(out, 'w', encoding='utf-8') as f:
        f.write(stdout)
    with open(err, 'w', encoding='utf-8') as f:
        f.write(stderr)
    return script('answering', f'cat > /dev/null\ncat {shlex.quote(out)}\n'
                               f'cat {shlex.quote(err)} >&2\nexit {status}\n')


def run_shim(command, args=None, params=None, last_run=None, context=None, version=0,
             binary=None, margin=None, before_write=None):
    """Runs the shim once, as XSOAR runs an integration command; returns what it did."""
    demistomock.reset(command, args=args, params=params, last_run=last_run, context=context,
                      version=version)
    if before_write is not None:
        demistomock.state()['before_write'].append(before_write)
    os.environ['M365D_BINARY'] = binary or RECORDING_BINARY
    if margin is None:
        os.environ.pop('M365D_SHIM_TIMEOUT_MARGIN', None)
    else:
        os.environ['M365D_SHIM_TIMEOUT_MARGIN'] = str(margin)
    if os.path.exists(RECORDED_ENVELOPE):
        os.remove(RECORDED_ENVELOPE)
    crash = None
    started = time.monotonic()
    try:
        exec(CODE, shim_namespace('builtins'))
    except SystemExit:
        pass
    except Exception as err:  # return_error raises for fetch-incidents; anything else crashed
        errors = demistomock.state()['errors']
        if not errors or str(err) != errors[-1]:
            crash = traceback.format_exc()
    finally:
        os.environ['M365D_BINARY'] = REAL_BINARY
    state = demistomock.state()
    envelope = None
    if os.path.exists(RECORDED_ENVELOPE):
        with open(RECORDED_ENVELOPE, encoding='utf-8') as f:
            envelope = json.load(f)
    return types.SimpleNamespace(
        crash=crash, elapsed=time.monotonic() - started, envelope=envelope,
        error=state['errors'][-1] if state['errors'] else None,
        results=state['results'], incidents=state['incidents'],
        set_last_run=state['set_last_run'], debug=state['debug'],
        writes=state['context_writes'], context=state['context'], version=state['version'])


def document(context=None, results=None, **extra):
    doc = {'results': [{'Type': 1, 'ContentsFormat': 'json', 'Contents': {}}]
           if results is None else results}
    if context is not None:
        doc['integration_context'] = context
    doc.update(extra)
    return json.dumps(doc) + '\n'


def error_entry(message):
    return {'Type': 4, 'ContentsFormat': 'text', 'Contents': message, 'EntryContext': None}


class ShimTest(unittest.TestCase):

    def assertNoCrash(self, run):
        self.assertIsNone(run.crash, run.crash)

    def assertContextUntouched(self, run, context, version=0):
        self.assertEqual(run.writes, [])
        self.assertEqual((run.context, run.version), (context, version))

    def assertFailedCleanly(self, run, fragment, context, version=0):
        """The run ended with one error entry containing `fragment`, not a traceback."""
        self.assertNoCrash(run)
        self.assertIsNotNone(run.error, 'no error was reported')
        self.assertIn(fragment, run.error)
        self.assertNotIn('Traceback', run.error)
        self.assertContextUntouched(run, context, version)


class TheScript(ShimTest):

    def test_parses_as_python_3_8(self):
        ast.parse(SOURCE, feature_version=(3, 8))

    def test_declared_timeouts_match_integration_yml(self):
        namespace = shim_namespace('not_main')
        exec(CODE, namespace)
        default = namespace['DEFAULT_TIMEOUT']
        declared = {c: t for c, t in declared_timeouts().items() if t != default}
        self.assertEqual(namespace['DECLARED_TIMEOUTS'], declared)
        self.assertEqual(declared_timeouts()[HUNTING], 180)

    def test_timeout_comes_from_the_command(self):
        namespace = shim_namespace('not_main')
        exec(CODE, namespace)
        timeout_for = namespace['timeout_for']
        os.environ.pop('M365D_SHIM_TIMEOUT_MARGIN', None)
        self.assertEqual(timeout_for(HUNTING, {}, {}), 195)
        self.assertEqual(timeout_for(HUNTING, {'timeout': '20'}, {}), 35)
        self.assertEqual(timeout_for(INCIDENTS_LIST, {}, {}), 45)
        self.assertEqual(timeout_for(INCIDENTS_LIST, {'timeout': 'soon'}, {}), 45)
        self.assertEqual(timeout_for('microsoft-365-defender-auth-complete', {}, {}), 75)
        self.assertEqual(timeout_for('test-module', {}, {}), 45)
        self.assertEqual(timeout_for('fetch-incidents', {'timeout': '1'},
                                     {'fetch_timeout': '50'}), 65)
        self.assertEqual(timeout_for('fetch-incidents', {}, {'fetch_timeout': ''}), 315)
        os.environ['M365D_SHIM_TIMEOUT_MARGIN'] = '0.5'
        try:
            self.assertEqual(timeout_for(INCIDENTS_LIST, {'timeout': '2'}, {}), 2.5)
        finally:
            os.environ.pop('M365D_SHIM_TIMEOUT_MARGIN', None)


class AgainstTheEmulator(ShimTest):

    def test_test_module_answers_ok_and_stores_the_token(self):
        run = run_shim('test-module', params=EMULATOR.params)
        self.assertNoCrash(run)
        self.assertIsNone(run.error)
        self.assertEqual(run.results, ['ok'])
        self.assertEqual(len(run.writes), 1)
        self.assertIn('access_token', run.context)

    def test_incidents_list_writes_the_context_once_with_the_version_read(self):
        run = run_shim(INCIDENTS_LIST, args={'limit': '2'}, params=EMULATOR.params,
                       context={'mine': 1}, version=7)
        self.assertNoCrash(run)
        self.assertIsNone(run.error)
        self.assertEqual(len(run.results), 1)
        self.assertEqual(len(run.results[0]['Contents']), 2)
        [(written, version, accepted)] = run.writes
        self.assertEqual((version, accepted), (7, True))
        self.assertEqual(written['mine'], 1)
        self.assertIn('access_token', written)
        self.assertEqual((run.context, run.version), (written, 8))

        # The token is cached now: the next run changes nothing, so writes nothing.
        again = run_shim(INCIDENTS_LIST, args={'limit': '2'}, params=EMULATOR.params,
                         context=written, version=8)
        self.assertNoCrash(again)
        self.assertIsNone(again.error)
        self.assertContextUntouched(again, written, 8)

    def test_an_unusable_envelope_leaves_the_context_alone(self):
        stored = {'current_refresh_token': 'R1', 'mine': 1}
        # Arguments that are not an object make the binary refuse the envelope (exit 2).
        run = run_shim(INCIDENTS_LIST, args=['limit', '2'], params=EMULATOR.params,
                       context=stored, version=3)
        self.assertFailedCleanly(run, 'Could not use the command envelope', stored, 3)

    def test_last_run_goes_to_fetch_incidents_only(self):
        cursor = {'version': 1, 'marker': 'only for fetch-incidents'}
        run = run_shim(INCIDENTS_LIST, args={'limit': '1'}, params=EMULATOR.params,
                       last_run=cursor)
        self.assertNoCrash(run)
        self.assertEqual(run.envelope['last_run'], {})
        self.assertEqual(run.envelope['args'], {'limit': '1'})
        self.assertEqual(run.envelope['integration_instance'], 'm365d_instance_1')
        self.assertEqual(run.set_last_run, [])

        fetch = run_shim('fetch-incidents', params=EMULATOR.params, last_run=cursor)
        self.assertEqual(fetch.envelope['last_run'], cursor)

    def test_fetch_incidents_hands_over_incidents_and_last_run(self):
        run = run_shim('fetch-incidents', params=EMULATOR.params, last_run={})
        self.assertNoCrash(run)
        self.assertIsNone(run.error)
        [incidents] = run.incidents
        self.assertIsInstance(incidents, list)
        self.assertGreater(len(incidents), 0)
        [last_run] = run.set_last_run
        self.assertIn('version', last_run)

        second = run_shim('fetch-incidents', params=EMULATOR.params, last_run=last_run,
                          context=run.context, version=run.version)
        self.assertNoCrash(second)
        self.assertEqual(second.envelope['last_run'], last_run)
        self.assertEqual(len(second.set_last_run), 1)

    def test_a_failed_fetch_keeps_the_last_run(self):
        run = run_shim('fetch-incidents', params=EMULATOR.params, last_run={'no': 'version'})
        self.assertNoCrash(run)
        self.assertIn('fetch cursor', run.error)
        self.assertEqual(run.set_last_run, [])
        self.assertEqual(run.incidents, [])

    def test_a_version_conflict_merges_both_writers_changes(self):
        given = {'keep': 'a', 'current_refresh_token': 'R1'}
        # While the binary signs in, another command of the instance rotates the refresh
        # token and stores a key of its own.
        meanwhile = {'keep': 'a', 'current_refresh_token': 'R2', 'other_writer': 'x'}

        def other_command():
            if len(demistomock.state()['context_writes']) == 0:
                demistomock.other_writer(meanwhile)

        run = run_shim(INCIDENTS_LIST, args={'limit': '1'}, params=EMULATOR.params,
                       context=given, version=3, before_write=other_command)
        self.assertNoCrash(run)
        self.assertIsNone(run.error)
        self.assertEqual([(v, ok) for _, v, ok in run.writes], [(3, False), (4, True)])
        # The binary's new token keys, the other writer's refresh token and key.
        self.assertEqual(run.context['current_refresh_token'], 'R2')
        self.assertEqual(run.context['other_writer'], 'x')
        self.assertEqual(run.context['keep'], 'a')
        first_attempt = run.writes[0][0]
        for key in ('access_token', 'valid_until', 'token_owner'):
            self.assertEqual(run.context[key], first_attempt[key])
        self.assertEqual(run.version, 5)

    def test_a_version_conflict_keeps_the_binarys_removals(self):
        given = {'access_token': 'x', 'valid_until': 5, 'current_refresh_token': 'R1',
                 'mine': 1}
        meanwhile = dict(given, other_writer='y')

        def other_command():
            if len(demistomock.state()['context_writes']) == 0:
                demistomock.other_writer(meanwhile)

        run = run_shim('microsoft-365-defender-auth-reset', params=EMULATOR.params,
                       context=given, version=0, before_write=other_command)
        self.assertNoCrash(run)
        self.assertIsNone(run.error)
        self.assertEqual(run.context, {'mine': 1, 'other_writer': 'y'})


class StoringTheContext(ShimTest):

    def test_a_failed_command_still_stores_a_refreshed_token(self):
        stored = {'current_refresh_token': 'R1', 'mine': 1}
        answer = document(context={'current_refresh_token': 'R2', 'mine': 1},
                          results=[error_entry('Failed to execute x command.\nError:\nboom')])
        run = run_shim(INCIDENTS_LIST, context=stored, version=2,
                       binary=answering(answer, 1))
        self.assertNoCrash(run)
        self.assertIn('boom', run.error)
        self.assertEqual(run.context, {'current_refresh_token': 'R2', 'mine': 1})
        self.assertEqual(len(run.writes), 1)

    def test_exit_2_without_a_context_stores_nothing(self):
        stored = {'current_refresh_token': 'R1'}
        answer = document(results=[error_entry('Could not use the command envelope: no')])
        run = run_shim(INCIDENTS_LIST, context=stored, binary=answering(answer, 2))
        self.assertFailedCleanly(run, 'Could not use the command envelope: no', stored)

    def test_conflicts_that_do_not_end_give_up_with_a_clear_error(self):
        stored = {'mine': 1}

        def busy_instance():
            demistomock.other_writer(dict(demistomock.state()['context'], tick=time.time()))

        answer = document(context={'mine': 1, 'access_token': 'new'})
        run = run_shim(INCIDENTS_LIST, context=stored, binary=answering(answer, 0),
                       before_write=busy_instance)
        self.assertNoCrash(run)
        self.assertIn('kept changing it', run.error)
        self.assertEqual(len(run.writes), 5)
        self.assertFalse(any(accepted for _, _, accepted in run.writes))

    def test_a_write_refused_for_another_reason_is_not_retried(self):
        def refuse():
            raise ValueError('integration context too large')

        answer = document(context={'access_token': 'new'})
        run = run_shim(INCIDENTS_LIST, context={}, binary=answering(answer, 0),
                       before_write=refuse)
        self.assertNoCrash(run)
        self.assertIn('Could not store the integration context: integration context too large',
                      run.error)

    def test_get_remote_data_results_go_back_as_one_list(self):
        results = [{'incidentId': 7}, {'Type': 1, 'Contents': 'comment'}]
        run = run_shim('get-remote-data', args={'id': '7'},
                       binary=answering(document(context={}, results=results), 0))
        self.assertNoCrash(run)
        self.assertEqual(run.results, [results])


def control(method, path, body=None):
    """A call to the emulator's control API (on 127.0.0.1, like everything here)."""
    import urllib.request
    request = urllib.request.Request(EMULATOR.params['base_url'] + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b'null')


class MirroringRoundTrip(ShimTest):
    """Fetch, then mirroring both ways, with the custom close reason mappings switched on."""

    def params(self):
        return dict(EMULATOR.params, **{
            'mirror_direction': 'Incoming And Outgoing',
            'close_incident': True,
            'close_out': True,
            'custom_xsoar_to_defender_close_reason': 'true',
            'custom_xsoar_to_defender_close_reason_mapping':
                'Resolved=TruePositive-Malware,False Positive=FalsePositive-NotMalicious',
            'custom_defender_to_xsoar_close_reason': 'true',
            'custom_defender_to_xsoar_close_reason_mapping': 'TruePositive=Duplicate',
        })

    def run_ok(self, command, **kwargs):
        run = run_shim(command, params=self.params(), **kwargs)
        self.assertNoCrash(run)
        self.assertIsNone(run.error, run.error)
        return run

    def active_incident_ids(self, count):
        created = control('POST', '/_emulator/incidents',
                          {'count': count, 'status': 'Active', 'assigned_to': None})
        return [str(number) for number in created['incidentIds']]

    def test_fetch_then_close_in_xsoar_then_resolve_in_defender(self):
        fetch = self.run_ok('fetch-incidents', last_run={})
        [incidents] = fetch.incidents
        self.assertTrue(all(json.loads(i['rawJSON'])['mirror_direction'] == 'Both'
                            for i in incidents))
        context, version = fetch.context, fetch.version

        # Closed in XSOAR as Resolved: the custom mapping makes it a true positive (malware).
        closed_in_xsoar, resolved_in_defender = self.active_incident_ids(2)
        update = self.run_ok('update-remote-system', context=context, version=version, args={
            'remoteId': closed_in_xsoar, 'incidentChanged': 'true', 'status': '2',
            'data': json.dumps({'id': '1'}), 'entries': '[]',
            'delta': json.dumps({'closeReason': 'Resolved', 'closeNotes': 'confirmed',
                                 'closingUserId': 'admin'})})
        self.assertEqual(update.results, [closed_in_xsoar])
        context, version = update.context, update.version
        got = self.run_ok('microsoft-365-defender-incident-get', context=context,
                          version=version, args={'id': closed_in_xsoar})
        incident = got.results[0]['Contents']
        self.assertEqual((incident['status'], incident['classification'],
                          incident['determination']), ('Resolved', 'TruePositive', 'Malware'))

        # Resolved in Defender as a true positive: XSOAR is told to close it as a duplicate.
        control('PATCH', f'/_emulator/incidents/{resolved_in_defender}',
                {'status': 'Resolved', 'classification': 'TruePositive',
                 'determination': 'Phishing'})
        modified = self.run_ok('get-modified-remote-data', context=context, version=version,
                               args={'lastUpdate': '2000-01-01T00:00:00Z'})
        self.assertIn(resolved_in_defender, modified.results[0]['Contents'])
        remote = self.run_ok('get-remote-data', context=modified.context,
                             version=modified.version,
                             args={'id': resolved_in_defender, 'lastUpdate': '0'})
        [[mirrored, *entries]] = remote.results
        self.assertEqual(str(mirrored['incidentId']), resolved_in_defender)
        closes = [e['Contents'] for e in entries if isinstance(e.get('Contents'), dict)]
        self.assertIn({'dbotIncidentClose': True, 'closeReason': 'Duplicate',
                       'closeNotes': 'Resolved in Microsoft 365 Defender as TruePositive '
                                     '(Phishing).'}, closes)


class BinaryFailures(ShimTest):
    stored = {'current_refresh_token': 'R1', 'mine': 1}

    def test_a_hanging_binary_is_stopped_after_the_timeout(self):
        pid_file = os.path.join(WORKDIR, 'hang.pid')
        hang = script('hang', f'echo $$ > {shlex.quote(pid_file)}\nexec sleep 60\n')
        run = run_shim(INCIDENTS_LIST, args={'timeout': '1'}, context=self.stored, version=4,
                       binary=hang, margin=0.5)
        self.assertFailedCleanly(run, 'did not finish within 1.5 seconds', self.stored, 4)
        self.assertLess(run.elapsed, 10)
        with open(pid_file, encoding='utf-8') as f:
            pid = int(f.read())
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)

    def test_a_binary_killed_by_a_signal_is_named(self):
        for name in ('KILL', 'SEGV'):
            with self.subTest(signal=name):
                run = run_shim(INCIDENTS_LIST, context=self.stored,
                               binary=script('signal', f'kill -{name} $$\n'))
                self.assertFailedCleanly(run, f'killed by SIG{name}', self.stored)

    def test_missing_not_executable_and_cannot_run_are_told_apart(self):
        missing = os.path.join(WORKDIR, 'no-such-binary')
        not_executable = script('plain', 'exit 0\n', mode=0o644)
        # An ELF header for a machine no binfmt_misc emulator claims (VAX): ENOEXEC.
        elf = os.path.join(WORKDIR, 'other-arch')
        with open(elf, 'wb') as out:
            out.write(b'\x7fELF\x02\x01\x01' + bytes(9) + (2).to_bytes(2, 'little')
                      + (75).to_bytes(2, 'little') + (1).to_bytes(4, 'little') + bytes(44))
        os.chmod(elf, 0o755)
        # What a glibc build on Alpine looks like: the file is there, its loader is not.
        no_interpreter = script('interpreter', 'exit 0\n', interpreter='/nonexistent/ld.so')
        messages = {}
        for label, binary, fragment in (
                ('missing', missing, 'was not found at'),
                ('not executable', not_executable, 'is not executable'),
                ('other architecture', elf, 'cannot run on this system'),
                ('missing interpreter', no_interpreter, 'cannot run on this system')):
            with self.subTest(label):
                run = run_shim(INCIDENTS_LIST, context=self.stored, binary=binary)
                self.assertFailedCleanly(run, fragment, self.stored)
                self.assertIn(binary, run.error)
                messages[label] = run.error.replace(binary, '<binary>')
        self.assertEqual(len({messages['missing'], messages['not executable'],
                              messages['other architecture']}), 3)

    def test_bad_answers_are_reported_without_a_traceback(self):
        for label, stdout, status, fragment in (
                ('a JSON list', '[]\n', 0, 'a JSON list instead of an object'),
                ('not JSON', 'panicked at src/main.rs\n', 1, 'without a JSON answer'),
                ('nothing', '', 0, 'without a JSON answer'),
                ('results not a list', json.dumps({'results': {}, 'integration_context': {}}),
                 0, '"results" is not a list'),
                ('null context', document(context=None, integration_context=None), 0,
                 'without an integration context'),
                ('no context', document(), 1, 'without an integration context'),
                ('unexpected status', document(context={}, results=[error_entry('x')]), 101,
                 'exited with status 101')):
            with self.subTest(label):
                run = run_shim(INCIDENTS_LIST, context=self.stored,
                               binary=answering(stdout, status))
                self.assertFailedCleanly(run, fragment, self.stored)

    def test_only_the_tail_of_stderr_is_logged(self):
        log = 'early line\n' + 'x' * 10000 + '\nlast line\n'
        run = run_shim(INCIDENTS_LIST, binary=answering(document(context={}), 0, stderr=log))
        self.assertNoCrash(run)
        [logged] = [line for line in run.debug if 'last line' in line]
        self.assertLessEqual(len(logged), 4000)
        self.assertNotIn('early line', logged)


if __name__ == '__main__':
    sys.exit(unittest.main())
