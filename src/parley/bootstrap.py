"""Build a Parley node from its settings, explicitly: every dependency is passed by hand.

``Parley`` holds the node's parts; ``start`` migrates the database, connects the bus and starts
the background loops; ``stop`` tells clients to reconnect elsewhere and releases everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta

from parley.clock import Clock, SystemClock
from parley.mail import mailer_for
from parley.metrics import Metrics
from parley.realtime.bus import Bus, LocalBus, RedisBus
from parley.realtime.hub import Hub
from parley.services.accounts import AccountService
from parley.services.admin import AdminService
from parley.services.archive import ArchiveService
from parley.services.attachments import AttachmentService
from parley.services.auth import AuthService
from parley.services.branding import BrandingService
from parley.services.canned import CannedService
from parley.services.chat import ChatService
from parley.services.cobrowse import CobrowseService
from parley.services.directory import DirectoryService
from parley.services.group_commit import ConversationCache, GroupCommit
from parley.services.house_rules import HouseRulesService
from parley.services.identity import IdentityService
from parley.services.im import ImService, MentionNotifier
from parley.services.inbox import InboxService, MailLoop
from parley.services.invitations import InvitationService
from parley.services.knowledge import KnowledgeService
from parley.services.limits import ConnectionCap, InFlightCap, Limiter, LoginGuard, Rule, Rules
from parley.services.presence import PresenceService
from parley.services.profiles import ProfileService
from parley.services.qa import QaService
from parley.services.queues import QueueService
from parley.services.reports import ReportService
from parley.services.routing import RoutingService
from parley.services.runtime import Dispatcher, Maintenance, Ownership, silence_limit
from parley.services.snapshot import Snapshots
from parley.services.supervision import SupervisionService
from parley.services.templates import TemplateService
from parley.services.transcripts import TranscriptService
from parley.services.visitor_presence import VisitorPresenceService
from parley.services.wallboard import WallboardService
from parley.services.wrapup import WrapUpService
from parley.settings import Settings
from parley.storage.attachments import AttachmentStore
from parley.storage.blobs import BlobStore, FileBlobStore
from parley.storage.db import Database
from parley.storage.reports import ReportStore
from parley.storage.sealing import Sealer
from parley.storage.stores import Stores
from parley.storage.writer import writer_for

log = logging.getLogger(__name__)

MAIL_LEASE_MARGIN_SECS = 60
MAIL_SWEEP_SECS = 60


@dataclass
class Parley:
    settings: Settings
    node_id: str
    clock: Clock
    db: Database
    #: One of each store; services got theirs in their constructors.
    stores: Stores
    bus: Bus
    hub: Hub
    auth: AuthService
    admin: AdminService
    #: The account policy, two-factor enrolment, guests.
    accounts: AccountService
    routing: RoutingService
    queues: QueueService
    chat: ChatService
    house_rules: HouseRulesService
    #: The archive: retention, holds, the notice, search, exports, customer data.
    archive: ArchiveService
    #: Sends committed together (services.group_commit): started after the migrations.
    writes: GroupCommit
    presence: PresenceService
    directory: DirectoryService
    #: The widget's branding per workgroup, and staff photos in chats.
    branding: BrandingService
    templates: TemplateService
    #: The agent's workspace: canned responses (and greetings), the knowledge base.
    canned: CannedService
    knowledge: KnowledgeService
    snapshots: Snapshots
    ownership: Ownership
    dispatcher: Dispatcher
    maintenance: Maintenance
    inbox: InboxService
    mail_loop: MailLoop
    invitations: InvitationService
    #: The staff IM: DMs, rooms, back-channels (their messages go through ``chat``).
    im: ImService
    #: Limits (docs/security.md): the shared limiter, its rules, logins, sockets per address.
    limiter: Limiter
    rules: Rules
    login: LoginGuard
    ws_connections: ConnectionCap
    #: Hellos being handled on this node (``max_hellos_in_flight``): admission control.
    hellos: InFlightCap
    identity: IdentityService
    #: Prometheus metrics (GET /metrics), this node's own registry.
    metrics: Metrics
    #: Files sent in customer chats, and each workgroup's attachment policy.
    attachments: AttachmentService
    #: Where the attachments' bytes are: the data directory, or an S3-compatible bucket.
    blobs: BlobStore
    #: Supervisors, live: who supervises what, monitoring, whispers, barging in, taking over.
    supervision: SupervisionService
    #: The wallboards this node pushes to its supervisors' sockets.
    wallboard: WallboardService
    #: After the fact: ratings, outcomes at wrap-up, tags.
    wrapup: WrapUpService
    #: Customer profiles and staff notes; transcripts emailed to customers.
    profiles: ProfileService
    transcripts: TranscriptService
    #: Whether each chat's customer is still there (their sockets), and ending abandoned chats.
    visitor_presence: VisitorPresenceService
    #: QA review and secret shoppers: transcript search, scorecards, reviews, shopper links.
    qa: QaService
    #: Reports, after the fact (per workgroup, queue, agent; JSON and CSV).
    reports: ReportService
    #: Co-browsing: pushed pages and follow me (issue 13).
    cobrowse: CobrowseService
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.db.migrate()
        # The secrets key, and every TOTP secret sealed with its first key.
        await self.accounts.start()
        await self.writes.start()
        # Rows a previous process with this node id left behind (it crashed) are not ours.
        await self.presence.forget_node()
        await self.visitor_presence.forget_node()
        await self.auth.start()
        await self.identity.start()
        # Exports a previous process left running are failed, not left running forever.
        await self.archive.start()
        await self.qa.start()
        await self.bus.start()
        for name, job in (
            ("ownership", self.ownership.run()),
            ("dispatcher", self.dispatcher.run()),
            ("maintenance", self.maintenance.run()),
            ("mail", self.mail_loop.run()),
            ("wallboard", self.wallboard.run()),
        ):
            self._tasks.append(asyncio.create_task(job, name=f"parley-{name}"))

    async def stop(self) -> None:
        """Stop this node's work and close what it holds. Each step is bounded
        (``STOP_STEP_SECS``): one that hangs is logged by name and left behind, so that a
        node always stops (a wedged task or connection must not keep a deploy waiting)."""
        # First, and before the bus closes: the other nodes take this node's workgroups now.
        await _bounded("ownership", self.ownership.close())
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=STOP_STEP_SECS)
            for task in pending:
                log.error(
                    "stop: task %s did not end %.0f s after it was cancelled",
                    task.get_name(),
                    STOP_STEP_SECS,
                )
        self._tasks.clear()
        await _bounded("archive", self.archive.close())
        # What is queued is committed and answered; later sends go the ordinary way.
        await _bounded("writes", self.writes.stop())
        with contextlib.suppress(Exception):
            await _bounded("presence", self.presence.forget_node())
        with contextlib.suppress(Exception):
            await _bounded("visitor presence", self.visitor_presence.forget_node())
        await _bounded("bus", self.bus.close())
        await _bounded("limiter", self.limiter.close())
        await _bounded("blobs", self.blobs.close())
        await _bounded("database", self.db.dispose())


#: How long each step of ``Parley.stop`` may take before it is logged and left behind.
STOP_STEP_SECS = 15.0


async def _bounded(name: str, step: Awaitable[None]) -> None:
    try:
        await asyncio.wait_for(step, STOP_STEP_SECS)
    except TimeoutError:
        log.error("stop: %s did not finish in %.0f s; going on without it", name, STOP_STEP_SECS)


def blob_store_for(settings: Settings) -> BlobStore:
    """The attachments' blob store: the bucket when ``s3_bucket`` is set, else the directory."""
    if not settings.s3_bucket:
        return FileBlobStore(settings.resolved_attachments_dir())
    # Imported here: boto3 takes a moment to import, and only S3 installations need it (the
    # `s3` extra).
    try:
        from parley.storage.s3 import S3BlobStore, S3Config
    except ImportError as exc:  # pragma: no cover - an installation without the extra
        raise SystemExit(
            f"s3_bucket is set but the S3 client is not installed ({exc.name}): "
            "pip install 'parley[s3]'"
        ) from exc

    secret = settings.s3_secret_key
    store = S3BlobStore(
        S3Config(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=None if secret is None else secret.get_secret_value(),
            path_style=settings.s3_path_style,
            timeout_secs=settings.s3_timeout_secs,
            max_attempts=settings.s3_max_attempts,
            concurrency=settings.s3_concurrency,
            max_object_bytes=settings.max_attachment_bytes,
        )
    )
    log.info("attachments are kept in the %s, under %r", store.where, store.prefix)
    return store


def build(settings: Settings, *, clock: Clock | None = None) -> Parley:
    clock = clock or SystemClock()
    node_id = settings.node_id or secrets.token_hex(4)
    # Handed to everything that records a metric; its registry is this node's alone.
    metrics = Metrics(clock, node_id=node_id)
    takeover = timedelta(seconds=settings.dispatch_takeover_secs)
    db = Database(
        settings.resolved_database_url(),
        data_dir=settings.data_dir if settings.database_url is None else None,
        idle_transaction_timeout=silence_limit(takeover),
    )
    # The stores are stateless: one of each for the node, each service handed those it uses.
    # The secrets key is read (or made) at start (AccountService.start), after the migrations.
    sealer = Sealer(settings.resolved_secrets_key_file())
    stores = Stores.create(sealer)
    bus: Bus = (
        RedisBus(settings.redis_url, node_id, channel=settings.redis_channel)
        if settings.redis_url
        else LocalBus()
    )
    auth = AuthService(
        db,
        bus,
        clock,
        session_days=settings.session_days,
        api_token_max_days=settings.api_token_max_days,
        visitor_token_lifetime=timedelta(hours=settings.visitor_token_hours),
        staff=stores.staff,
        conversations=stores.conversations,
        accounts=stores.accounts,
    )
    # Memory on one node; Redis (redis-py) when configured, so a limit holds across nodes.
    limiter = Limiter.for_settings(settings, metrics)
    rules = Rules.of(settings)
    routing = RoutingService(
        db,
        bus,
        clock,
        staff=stores.staff,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        requests=stores.requests,
        agents=stores.agents,
        metrics=metrics,
        full_reload=timedelta(seconds=settings.routing_full_reload_secs),
    )
    identity = IdentityService(db, clock, staff=stores.staff, workgroups=stores.workgroups)
    writes = GroupCommit(writer_for(db), bus, max_batch=settings.write_batch_max, metrics=metrics)
    # Live conversations as this node last read them: shared by sends and typing, dropped
    # when the bus says who is in one changed (ConversationCache.on_notification).
    cache = ConversationCache(settings.conversation_cache_size)
    house_rules = HouseRulesService(
        db, bus, clock, staff=stores.staff, house_rules=stores.house_rules, audit=stores.audit
    )
    chat = ChatService(
        db,
        bus,
        clock,
        routing,
        auth.visitor_token,
        identity,
        max_message_chars=settings.max_message_chars,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        requests=stores.requests,
        agents=stores.agents,
        metrics=metrics,
        writes=writes,
        cache=cache,
        house_rules=house_rules,
        supervision=stores.supervision,
        branding=stores.branding,
    )
    supervision = SupervisionService(
        db,
        bus,
        clock,
        max_message_chars=settings.max_message_chars,
        staff=stores.staff,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        requests=stores.requests,
        agents=stores.agents,
        supervision=stores.supervision,
        audit=stores.audit,
        house_rules=house_rules,
    )
    wallboard = WallboardService(
        db,
        clock,
        workgroups=stores.workgroups,
        supervision=stores.supervision,
        push_interval=settings.wallboard_push_interval_secs,
    )
    presence = PresenceService(
        db,
        bus,
        clock,
        node_id=node_id,
        grace=timedelta(seconds=settings.presence_grace_secs),
        stale_after=timedelta(seconds=3 * settings.heartbeat_secs),
        workgroups=stores.workgroups,
        agents=stores.agents,
        idle_away=timedelta(seconds=settings.idle_away_secs),
        house_rules=house_rules,
    )
    directory = DirectoryService(
        db,
        bus,
        clock,
        directory=stores.directory,
        max_photo_bytes=settings.max_photo_bytes,
    )
    maintenance = Maintenance(presence, clock, heartbeat=timedelta(seconds=settings.heartbeat_secs))
    invitations = InvitationService(
        db,
        bus,
        clock,
        wake=maintenance.wake.set,
        staff=stores.staff,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        requests=stores.requests,
        invitations=stores.invitations,
    )
    maintenance.sweeps.append(invitations.sweep)
    # Customers who left: the agents told, the chat ended after the workgroup's idle time.
    visitor_presence = VisitorPresenceService(
        db,
        bus,
        clock,
        chat,
        node_id=node_id,
        grace=timedelta(seconds=settings.visitor_grace_secs),
        stale_after=timedelta(seconds=3 * settings.heartbeat_secs),
        visitors=stores.visitors,
        conversations=stores.conversations,
    )
    maintenance.sweeps.append(visitor_presence.sweep)
    archive = ArchiveService(
        db,
        clock,
        conversations=stores.conversations,
        archive=stores.archive,
        audit=stores.audit,
        workgroups=stores.workgroups,
        node_id=node_id,
        export_keep=timedelta(days=settings.archive_export_keep_days),
        profiles=stores.profiles,
    )
    # The retention job: small batches, oldest first, between the other sweeps.
    maintenance.sweeps.append(archive.sweep)
    blobs = blob_store_for(settings)
    attachments = AttachmentService(
        db,
        bus,
        clock,
        blobs,
        attachments=AttachmentStore(),
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        supervision=stores.supervision,
        ceiling=settings.max_attachment_bytes,
        rule=Rule.of("attachment", settings.attachment_limit),
    )
    # The files of conversations the retention job (or a customer's deletion) removed.
    maintenance.sweeps.append(attachments.sweep)
    snapshots = Snapshots(db, presence, routing, invitations, supervision)
    hub = Hub(chat, snapshots.ephemeral, metrics)
    ownership = Ownership(db, bus, node_id=node_id, takeover=takeover)
    dispatcher = Dispatcher(
        routing,
        ownership,
        clock,
        interval=timedelta(seconds=settings.dispatch_interval_secs),
        metrics=metrics,
    )
    inbox = InboxService(
        db,
        bus,
        clock,
        mailer_for(settings),
        sender=settings.smtp_from,
        # A claimed email attempt is the claimant's for this long (then anyone retries it).
        lease=timedelta(seconds=settings.smtp_timeout_secs + MAIL_LEASE_MARGIN_SECS),
        limiter=limiter,
        email_rule=rules.message_email,
        staff=stores.staff,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        inbox=stores.inbox,
    )
    # The sweep finds retries that fell due and messages left through another node.
    mail_loop = MailLoop(inbox, clock, interval=timedelta(seconds=MAIL_SWEEP_SECS))
    canned = CannedService(
        db,
        clock,
        house_rules,
        chat,
        canned=stores.canned,
        templates=stores.templates,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        audit=stores.audit,
    )
    # The workgroup's automatic greeting, once an agent accepted a chat.
    routing.on_accepted.append(canned.greet)
    knowledge = KnowledgeService(
        db,
        clock,
        chat,
        knowledge=stores.knowledge,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        audit=stores.audit,
    )
    bus.subscribe(hub.handle)
    bus.subscribe(cache.on_notification)
    bus.subscribe(ownership.on_notification)
    bus.subscribe(dispatcher.on_notification)
    bus.subscribe(invitations.on_notification)
    mentions = MentionNotifier(
        db,
        hub.handle,
        hub.connected,
        staff=stores.staff,
        conversations=stores.conversations,
        agents=stores.agents,
    )
    bus.subscribe(mentions.on_notification)
    bus.subscribe(wallboard.on_notification)
    bus.on_resync(hub.resync)
    bus.on_resync(wallboard.resync)
    return Parley(
        settings=settings,
        node_id=node_id,
        clock=clock,
        db=db,
        stores=stores,
        bus=bus,
        hub=hub,
        auth=auth,
        admin=AdminService(
            db,
            bus,
            clock,
            staff=stores.staff,
            workgroups=stores.workgroups,
            agents=stores.agents,
            accounts=stores.accounts,
            audit=stores.audit,
        ),
        accounts=AccountService(
            db,
            bus,
            clock,
            auth,
            mailer_for(settings),
            sender=settings.smtp_from,
            guest_invitation_lifetime=timedelta(hours=settings.guest_invitation_hours),
            console_url=None
            if settings.public_url is None
            else settings.public_url.rstrip("/") + "/console/",
            staff=stores.staff,
            accounts=stores.accounts,
            audit=stores.audit,
            conversations=stores.conversations,
            rooms=stores.rooms,
            sealer=sealer,
            directory=directory,
        ),
        routing=routing,
        queues=QueueService(
            db,
            bus,
            clock,
            staff=stores.staff,
            workgroups=stores.workgroups,
            agents=stores.agents,
        ),
        chat=chat,
        house_rules=house_rules,
        archive=archive,
        writes=writes,
        presence=presence,
        directory=directory,
        branding=BrandingService(
            db,
            clock,
            workgroups=stores.workgroups,
            branding=stores.branding,
            conversations=stores.conversations,
            directory=stores.directory,
            max_logo_bytes=settings.max_photo_bytes,
        ),
        templates=TemplateService(
            db, clock, house_rules, templates=stores.templates, audit=stores.audit
        ),
        canned=canned,
        knowledge=knowledge,
        snapshots=snapshots,
        ownership=ownership,
        dispatcher=dispatcher,
        maintenance=maintenance,
        inbox=inbox,
        mail_loop=mail_loop,
        invitations=invitations,
        im=ImService(
            db,
            bus,
            clock,
            staff=stores.staff,
            workgroups=stores.workgroups,
            conversations=stores.conversations,
            rooms=stores.rooms,
        ),
        limiter=limiter,
        rules=rules,
        login=LoginGuard(auth, limiter, db, rules, staff=stores.staff),
        ws_connections=ConnectionCap(settings.ws_connections_per_ip),
        hellos=InFlightCap(settings.max_hellos_in_flight),
        identity=identity,
        metrics=metrics,
        supervision=supervision,
        wallboard=wallboard,
        wrapup=WrapUpService(
            db,
            clock,
            wrapup=stores.wrapup,
            conversations=stores.conversations,
            workgroups=stores.workgroups,
            supervision=stores.supervision,
            audit=stores.audit,
        ),
        attachments=attachments,
        blobs=blobs,
        profiles=ProfileService(
            db,
            clock,
            profiles=stores.profiles,
            workgroups=stores.workgroups,
            conversations=stores.conversations,
            audit=stores.audit,
        ),
        transcripts=TranscriptService(
            db,
            clock,
            mailer_for(settings),
            sender=settings.smtp_from,
            transcripts=stores.transcripts,
            workgroups=stores.workgroups,
            conversations=stores.conversations,
        ),
        visitor_presence=visitor_presence,
        qa=QaService(
            db,
            clock,
            archive=archive,
            staff=stores.staff,
            workgroups=stores.workgroups,
            conversations=stores.conversations,
            supervision=stores.supervision,
            qa=stores.qa,
            audit=stores.audit,
        ),
        reports=ReportService(
            db,
            clock,
            workgroups=stores.workgroups,
            supervision=stores.supervision,
            reports=ReportStore(),
        ),
        cobrowse=CobrowseService(
            db,
            bus,
            clock,
            workgroups=stores.workgroups,
            conversations=stores.conversations,
            cobrowse=stores.cobrowse,
        ),
    )
