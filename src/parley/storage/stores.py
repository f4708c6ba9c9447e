"""The node's stores, one of each, built once (``bootstrap.build``) and handed out one by one:
each service gets in its constructor only the stores it uses. ``Parley.stores`` keeps the set
for the few callers outside services (the demo page's token, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from parley.storage.accounts import AccountStore
from parley.storage.agents import AgentStore
from parley.storage.archive import ArchiveStore
from parley.storage.audit import AuditStore
from parley.storage.branding import BrandingStore
from parley.storage.canned import CannedStore
from parley.storage.cobrowse import CobrowseStore
from parley.storage.conversations import ConversationStore
from parley.storage.directory import DirectoryStore
from parley.storage.house_rules import HouseRuleStore
from parley.storage.inbox import InboxStore
from parley.storage.invitations import InvitationStore
from parley.storage.knowledge import KnowledgeStore
from parley.storage.profiles import ProfileStore
from parley.storage.qa import QaStore
from parley.storage.requests import RequestStore
from parley.storage.rooms import RoomStore
from parley.storage.sealing import Sealer
from parley.storage.staff import StaffStore
from parley.storage.supervision import SupervisionStore
from parley.storage.templates import TemplateStore
from parley.storage.transcripts import TranscriptStore
from parley.storage.visitors import VisitorStore
from parley.storage.workgroups import WorkgroupStore
from parley.storage.wrapup import WrapUpStore


@dataclass(frozen=True, slots=True)
class Stores:
    staff: StaffStore
    workgroups: WorkgroupStore
    conversations: ConversationStore
    requests: RequestStore
    agents: AgentStore
    inbox: InboxStore
    invitations: InvitationStore
    rooms: RoomStore
    house_rules: HouseRuleStore
    audit: AuditStore
    directory: DirectoryStore
    templates: TemplateStore
    accounts: AccountStore
    archive: ArchiveStore
    supervision: SupervisionStore
    canned: CannedStore
    knowledge: KnowledgeStore
    branding: BrandingStore
    #: Ratings, outcomes at wrap-up, tags (issue 11).
    wrapup: WrapUpStore
    profiles: ProfileStore
    transcripts: TranscriptStore
    visitors: VisitorStore
    qa: QaStore
    #: Co-browsing's allowed sites (issue 13).
    cobrowse: CobrowseStore

    @classmethod
    def create(cls, sealer: Sealer | None = None) -> Stores:
        """``sealer``: the key ring the account store seals TOTP secrets with."""
        workgroups = WorkgroupStore()
        return cls(
            staff=StaffStore(),
            workgroups=workgroups,
            conversations=ConversationStore(),
            requests=RequestStore(workgroups),
            agents=AgentStore(),
            inbox=InboxStore(),
            invitations=InvitationStore(),
            rooms=RoomStore(),
            house_rules=HouseRuleStore(),
            audit=AuditStore(),
            directory=DirectoryStore(),
            templates=TemplateStore(),
            accounts=AccountStore(sealer),
            archive=ArchiveStore(),
            supervision=SupervisionStore(),
            canned=CannedStore(),
            knowledge=KnowledgeStore(),
            branding=BrandingStore(),
            wrapup=WrapUpStore(),
            profiles=ProfileStore(),
            transcripts=TranscriptStore(),
            visitors=VisitorStore(),
            qa=QaStore(),
            cobrowse=CobrowseStore(),
        )
