"""A FHIR Patient read on the event loop (PostgreSQL): ``registry.read_patient``'s statements batched with other
requests' (``emhana.kernel.batched``), with its checks in its order (the purpose before existence, then the read
logged, then the read volume counted) and its answer (``registry.patient_answer``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emhana.accounts.service import Actor
from emhana.fhir import registry, resources
from emhana.identity import reads as identity_reads
from emhana.kernel.batched import Batched, Reader, each

PATIENT = Batched.of("fhir.patient", resources.PATIENT.stmt, {"person": "bigint", "day": "date", "key": "text"})
ADDRESSES = Batched.of("fhir.patient.addresses", resources.ADDRESSES.stmt, {"person": "bigint"})


@dataclass(frozen=True)
class PatientRead:
    """What the read found: the Patient (None: no such person), the audit event to log before answering, and
    whether the read volume's check is settled (False: the caller finishes it, ``identity.service.flag_read_volume``,
    once the event is logged)."""

    patient: dict[str, Any] | None
    event: Mapping[str, Any] | None
    volume_settled: bool


async def read_patient(
    *, reads: Reader, actor: Actor, person_id: int, day: dt.date, now: dt.datetime, purpose: str
) -> PatientRead:
    """``registry.read_patient`` on the event loop."""
    patient = reads.ask(PATIENT, {"person": person_id, "day": day, "key": str(person_id)})
    located = reads.ask(ADDRESSES, {"person": person_id})
    volume, settle = identity_reads.volume_check(reads, actor, day)  # asked with the two above
    found, addresses, *counted = await each(patient, located, *([volume] if volume is not None else []))
    settled = settle(counted[0]) if counted else True
    person = resources.PatientRow(*found[0]) if found else None
    # the purpose before existence: the same answer whether or not the person exists
    attached = person.open_entity_id if person is not None else None
    await identity_reads.require_purpose(reads, actor, person_id, purpose, day, attached)
    if person is None:
        return PatientRead(None, None, True)
    answer = registry.patient_answer(person, [resources.AddressRow(*r) for r in addresses], day)
    return PatientRead(answer, registry.patient_read_event(actor, person_id, purpose, now), settled)
