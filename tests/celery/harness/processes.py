"""Child processes that are always bounded in time and always cleaned up.

Every child runs in its own session (its own process group), so stopping it also
stops whatever it forked: prefork pool children, Flower's helpers. Output goes to a
log file that tests read to wait for log lines.
"""

import os
import re
import signal
import subprocess

from .waiting import wait_for


class Process:
    """One child process with its output in ``log_path``."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self.pid = self.popen.pid
        self._signalled = False

    def alive(self):
        return self.popen.poll() is None

    def log(self):
        """The whole output so far, as text."""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, lines=40):
        return f"--- last lines of {self.name} ({self.log_path}) ---\n" + "\n".join(
            self.log().splitlines()[-lines:]
        )

    def wait_for_log(self, pattern, timeout, after=0):
        """Waits for a regex to match the output from offset ``after`` on.

        Returns the match. Fails at once, with the log tail, if the process exits.
        """
        regex = re.compile(pattern)

        def found():
            match = regex.search(self.log(), after)
            if match:
                return match
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited with {self.popen.returncode} while waiting "
                    f"for /{pattern}/\n{self.log_tail()}"
                )
            return None

        return wait_for(
            found, timeout, f"/{pattern}/ in {self.name}'s log", detail=self.log_tail
        )

    def log_size(self):
        return len(self.log())

    def signal_group(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def begin_stop(self, sig=signal.SIGTERM):
        """Signals the group without waiting, so that several children can shut
        down in parallel; ``stop()`` then waits (and does not signal again)."""
        if self.alive():
            self.signal_group(sig)
            self._signalled = True

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends ``sig`` to the group, waits up to ``timeout``, then SIGKILLs it.

        Returns the exit code. Idempotent.
        """
        if self.alive():
            if not self._signalled:
                self.signal_group(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the leader did, nothing of the group may outlive the test.
        self.signal_group(signal.SIGKILL)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()
        return self.popen.returncode

    def kill(self):
        """SIGKILL to the whole group, at once (a crash, not a shutdown)."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(10)


def wait_exit(process, timeout):
    """Waits for ``process`` to exit on its own; returns its exit code."""
    try:
        return process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"{process.name} still running after {timeout}s\n{process.log_tail()}"
        ) from None
