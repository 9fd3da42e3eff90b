"""One settings object, read from RINGLEDGER_* environment variables once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.clock import parse_start
from services.sms_commands import LANGUAGES, parse_words


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RINGLEDGER_", extra="ignore")

    #: `sqlite:///var/ringledger.db` (default) or `postgresql://user:pw@host:5432/db`.
    database_url: str = "sqlite:///var/ringledger.db"
    #: PostgreSQL schema holding the event store and views.
    database_schema: str = "public"
    #: Hex key for PIN verification values; if empty, read (or create) `pin_key_file`.
    pin_key: str = ""
    pin_key_file: str = "var/pin.key"
    timezone: str = "Asia/Shanghai"
    cache_size: int = 100_000
    #: PostgreSQL connections the event store keeps open (it may open as many again under load).
    pool_size: int = 10
    #: Switch bearer tokens as `name=sha256hex,…` (hashes only; `ringledger switches token NAME` makes one).
    switch_tokens: str = ""
    #: Seconds without a report before an open hold expires (answered: after its granted time at the earliest).
    hold_ttl_seconds: int = 600
    #: Balance under which the switch is told to play the low-balance warning.
    low_balance: str = "2.00"
    #: Longest call: no grant runs past it.
    max_call_seconds: int = 14_400
    #: Seconds granted (and their cost held) at a time: at authorize, and again as the call runs.
    grant_seconds: int = 300
    #: A running call's grant is extended once less than this is left of it.
    grant_lead_seconds: int = 60
    #: Tariff for accounts opened without a plan ("" = such accounts get `no_rate`).
    default_plan: str = ""
    #: Group commit: most hook commands per transaction, and how long to wait for more.
    group_commit_size: int = 256
    group_commit_window_ms: float = 0.0
    #: How often the leader looks for booked conferences and leg retries that are due (seconds).
    conference_poll_seconds: float = 5.0
    #: Callback: seconds the call back to the subscriber may run before a destination is bridged.
    callback_setup_seconds: int = 90
    #: Language of SMS replies (`zh` or `en`) unless the command word names its own (`BAL/en`).
    sms_language: str = "zh"
    #: SMS command words replacing the defaults of a command: `bind=BD|BIND/en; balance=CX|BAL/en`.
    sms_words: str = ""
    #: SMS gateway: `log` (texts are logged, `POST /v1/sms/inbound` plays one in), `kannel` or `smpp`.
    sms: str = "log"
    #: The number texts come from and go to (the access number or short code).
    sms_number: str = "10690000"
    #: Kannel: smsbox's sendsms URL and its sendsms-user; `smsc` is the smsc-id to prefer ("" = any).
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = ""
    kannel_password: str = ""
    kannel_smsc: str = ""
    #: Kannel: our dlr endpoint as Kannel reaches it, with a switch token: `http://HOST:PORT/v1/sms/dlr?token=T`.
    kannel_dlr_url: str = ""
    #: SMPP: the SMSC's address and the ESME's credentials (one transceiver bind).
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = ""
    smpp_password: str = ""
    smpp_system_type: str = ""
    #: SMPP: seconds of silence before an enquire_link; seconds a send waits for the bind and the answer.
    smpp_enquire_seconds: float = 30.0
    smpp_send_timeout_seconds: float = 10.0
    #: How often the leader retries the texts a gateway refused whose backoff is over (seconds).
    sms_retry_poll_seconds: float = 15.0
    #: Kamailio's JSON-RPC URL (`http://127.0.0.1:5071/RPC`): calls are cut through it ("" = cuts are only logged).
    kamailio_rpc_url: str = ""
    #: Testing aid: business time starts at this ISO instant (with offset) and ticks on ("" = system clock).
    clock_start: str = ""

    #: Longest a hook waits for the store before answering 503 `unavailable` (also the
    #: PostgreSQL connect timeout and the SQLite lock wait).
    store_timeout_seconds: int = 2
    #: Largest request body read from a switch hook, and from a GraphQL request (larger: 413).
    max_hook_body_bytes: int = 16_384
    max_graphql_body_bytes: int = 262_144
    #: Serve /metrics and /docs (with /openapi.json) to anyone who reaches the port.
    #: When false, /metrics needs a switch bearer token and /docs is not served.
    public_metrics: bool = True
    public_docs: bool = True

    #: FreeSWITCH (off by default): the inbound event socket it serves, the outbound socket we serve
    #: (dialplan `socket`), the dial string and context of originated legs, the context an authorized
    #: call is transferred to, and the spool kept while the store is down.
    freeswitch_enabled: bool = False
    freeswitch_host: str = "127.0.0.1"
    freeswitch_port: int = 8021
    freeswitch_password: str = "ClueCon"
    freeswitch_listen_host: str = "127.0.0.1"
    freeswitch_listen_port: int = 8084
    freeswitch_dial_template: str = "sofia/gateway/default/{number}"
    freeswitch_context: str = "default"
    freeswitch_authorized_context: str = "ringledger_authorized"
    freeswitch_spool_dir: str = "var/spool/freeswitch"
    #: Asterisk (all off by default): the FastAGI port to listen on (0: any free port), its address,
    #: the AMI `ami://user:secret@host:5038`, the channel an AMI Originate rings (`{number}` is
    #: filled in), and the zone of the switch's CDR times ("" = `timezone`).
    agi_port: int | None = None
    agi_host: str = "127.0.0.1"
    ami_url: str = ""
    ami_originate_channel: str = "Local/{number}@ringledger-out"
    asterisk_timezone: str = ""
    #: Where Asterisk call ends wait while the store is down (replayed in order once it is back).
    asterisk_spool_dir: str = "var/spool/asterisk"

    @field_validator("sms_words")
    @classmethod
    def _known_commands(cls, value: str) -> str:
        parse_words(value)
        return value

    @field_validator("freeswitch_dial_template")
    @classmethod
    def _names_the_number(cls, value: str) -> str:
        if "{number}" not in value or any(c.isspace() for c in value):
            raise ValueError("freeswitch_dial_template names {number} and has no white space")
        return value

    @field_validator("sms_language")
    @classmethod
    def _a_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"sms_language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("agi_port")
    @classmethod
    def _a_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 <= value <= 65535:
            raise ValueError("agi_port is 0 (any free port) to 65535")
        return value

    @field_validator("ami_url")
    @classmethod
    def _an_ami_url(cls, value: str) -> str:
        if value and not (value.startswith("ami://") and "@" in value):
            raise ValueError("ami_url is ami://user:secret@host:port")
        return value

    @field_validator("sms")
    @classmethod
    def _a_gateway(cls, value: str) -> str:
        if value not in ("log", "kannel", "smpp"):
            raise ValueError("sms is log, kannel or smpp")
        return value

    @model_validator(mode="after")
    def _gateway_settings(self) -> Settings:
        if self.sms == "kannel" and not self.kannel_dlr_url:
            raise ValueError("RINGLEDGER_SMS=kannel needs RINGLEDGER_KANNEL_DLR_URL (our /v1/sms/dlr as Kannel "
                             "reaches it, with a switch token)")
        if self.sms == "smpp" and not self.smpp_system_id:
            raise ValueError("RINGLEDGER_SMS=smpp needs RINGLEDGER_SMPP_SYSTEM_ID (and the SMSC's host and port)")
        return self

    @field_validator("callback_setup_seconds")
    @classmethod
    def _setup_seconds(cls, value: int) -> int:
        if not 10 <= value <= 600:
            raise ValueError("callback_setup_seconds is 10 to 600")
        return value

    @field_validator("kamailio_rpc_url")
    @classmethod
    def _an_http_url_or_empty(cls, value: str) -> str:
        if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname):
            raise ValueError("kamailio_rpc_url must be an http:// or https:// URL, e.g. http://127.0.0.1:5071/RPC")
        return value

    @field_validator("clock_start")
    @classmethod
    def _an_instant_or_empty(cls, value: str) -> str:
        if value:
            parse_start(value)
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> str:
        return self.database_url.removeprefix("sqlite:///")

    def eventsourcing_env(self) -> dict[str, str]:
        env = {
            "AGGREGATE_CACHE_MAXSIZE": str(self.cache_size),
            "AGGREGATE_CACHE_FASTFORWARD": "n",
            "IS_SNAPSHOTTING_ENABLED": "y",
        }
        if self.is_postgres:
            u = urlsplit(self.database_url)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                APPLICATION_RECORDER_TOPIC="ledger.postgres_recorder:BoundedPostgresRecorder",
                POSTGRES_DBNAME=u.path.lstrip("/") or "postgres",
                POSTGRES_HOST=u.hostname or "127.0.0.1",
                POSTGRES_PORT=str(u.port or 5432),
                POSTGRES_USER=u.username or "postgres",
                POSTGRES_PASSWORD=u.password or "",
                POSTGRES_SCHEMA=self.database_schema,
                POSTGRES_POOL_SIZE=str(self.pool_size),
                POSTGRES_MAX_OVERFLOW=str(2 * self.pool_size),
                POSTGRES_LOCK_TIMEOUT="10",
                POSTGRES_CONNECT_TIMEOUT=str(max(2, self.store_timeout_seconds)),
            )
        else:
            Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=self.sqlite_path,
                SQLITE_LOCK_TIMEOUT=str(max(1, self.store_timeout_seconds)),
            )
        return env

    def pin_key_bytes(self) -> bytes:
        """The PIN key lives outside the database: an env value or a 0600 file."""
        if self.pin_key:
            try:
                return bytes.fromhex(self.pin_key)
            except ValueError:
                raise ValueError("RINGLEDGER_PIN_KEY must be hex (e.g. 64 hex digits for 32 bytes)") from None
        path = Path(self.pin_key_file)
        if not path.exists():
            # Write a complete key file aside, then link it into place: a process
            # starting at the same moment either wins the link or reads the winner's key.
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return bytes.fromhex(path.read_text().strip())


def settings_error(err: ValueError) -> str:
    """A malformed setting, named as its variable, without the value given: a URL with a password or a
    key must not reach a terminal or a log (pydantic's own message repeats the value)."""
    if not isinstance(err, ValidationError):
        return str(err)
    return "; ".join(f"RINGLEDGER_{'_'.join(str(part) for part in e['loc']).upper()}: "
                     f"{str(e['msg']).removeprefix('Value error, ')}" for e in err.errors())
