"""The PIN key file: created once, atomically, readable by its owner only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

READ_KEY = (
    "import sys\n"
    "from ringledger.config import Settings\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"  # wait for the start signal, so all processes race
    "print(Settings(pin_key='', pin_key_file=sys.argv[1]).pin_key_bytes().hex())\n"
)


def test_processes_starting_together_create_one_pin_key_and_all_read_it(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "pin.key"
    env = {**os.environ, "RINGLEDGER_PIN_KEY": ""}
    processes = [
        subprocess.Popen([sys.executable, "-c", READ_KEY, str(key_file)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).parents[2])
        for _ in range(8)
    ]
    for p in processes:  # every process has imported and waits
        assert p.stdout.readline().strip() == "ready"
    for p in processes:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=60)[0].strip() for p in processes]
    assert all(p.returncode == 0 for p in processes)
    assert len(set(outputs)) == 1 and len(outputs[0]) == 64  # one 32-byte key, read by every process
    assert key_file.read_text().strip() == outputs[0]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in key_file.parent.iterdir()) == ["pin.key"]  # no temporary file left


def test_an_existing_pin_key_file_is_read_not_replaced(tmp_path: Path) -> None:
    from ringledger.config import Settings

    key_file = tmp_path / "pin.key"
    first = Settings(pin_key="", pin_key_file=str(key_file)).pin_key_bytes()
    again = Settings(pin_key="", pin_key_file=str(key_file)).pin_key_bytes()
    assert first == again and len(first) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
