"""The demo shows medical books: the citizen's book with a granted clearance and the employer's link."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from emhana.accounts.models import Account
from emhana.devtools.demo import seed
from emhana.devtools.generator import run_with_progress
from emhana.kernel.db import make_engine, make_sessionmaker
from emhana.medbook import appointments, service
from emhana.medbook.models import EmployerLink, JournalEntry, MedicalBook, ResponsibleAppointment


def test_demo_seeds_a_cleared_medical_book_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    seed(url, population=300, seed_value=1, generate=run_with_progress)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)

    def snapshot() -> tuple[int, ...]:
        with sessions() as s:
            return tuple(
                s.scalar(select(func.count()).select_from(t)) or 0
                for t in (MedicalBook, JournalEntry, ResponsibleAppointment, EmployerLink)
            )

    first = snapshot()
    seed(url, population=300, seed_value=1, generate=run_with_progress)
    assert snapshot() == first
    with sessions() as s:
        citizen = s.scalar(select(Account).where(Account.username == "demo-citizen"))
        therapist = s.scalar(select(Account).where(Account.username == "demo-responsible-therapist"))
        employer = s.scalar(select(Account).where(Account.username == "demo-employer"))
        assert citizen is not None and therapist is not None and employer is not None
        book = s.scalar(select(MedicalBook).where(MedicalBook.person_id == citizen.person_id))
        assert book is not None and book.group_code == "catering" and book.entity_id == therapist.entity_id
        current = appointments.responsible_on(session=s, entity_id=book.entity_id, day=book.issued_on)
        assert current is not None and current.account_id == therapist.id
        clearance = service.latest_clearance(service.current_entries(session=s, book_id=book.id))
        assert clearance is not None and clearance.clearance == "granted" and clearance.valid_until is not None
        link = s.get(EmployerLink, employer.id)
        assert link is not None and link.bin == book.employer_bin
    engine.dispose()
