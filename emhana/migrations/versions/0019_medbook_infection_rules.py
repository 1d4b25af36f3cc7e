"""The infection rules as data (issue 15, C-30): the diagnoses (ICD-10) and carrier states that bar work in
decreed groups while active, seeded from the working list of emhana/medbook/data/infection_rules.json as it
stood when this migration was written (the rows are embedded: a migration does not read app code or data that
may change later). Not verified: the annex of ДСМ-131/2020 was not retrieved (see SOURCE).

Revision ID: 0019
Revises: 0018
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

VALID_FROM = dt.date(2020, 10, 15)  # ДСМ-131/2020 of 15 October 2020
SOURCE = (
    "Working reading, not verified: the annex of order ҚР ДСМ-131/2020 (adilet V2000021443) listing the "
    "diseases and carrier states that bar work in decreed groups was not retrieved; this list follows the"
    " 2015 examination scope (NE order No. 128: tuberculosis, intestinal infections and carriage, "
    "helminths, syphilis, gonorrhoea, skin diseases, staphylococcus) and ICD-10 (WHO) category names. A "
    "domain expert should confirm it against the adilet text."
)
# code, kind, name_kk, name_ru, name_en, groups (empty: every decreed group)
RULES = [
    ("A00", "diagnosis", "Тырысқақ", "Холера", "Cholera", []),
    ("A01", "diagnosis", "Іш сүзегі және паратиф", "Брюшной тиф и паратиф", "Typhoid and paratyphoid fevers", []),
    (
        "A02",
        "diagnosis",
        "Басқа сальмонеллездік инфекциялар",
        "Другие сальмонеллезные инфекции",
        "Other salmonella infections",
        [],
    ),
    ("A03", "diagnosis", "Шигеллез", "Шигеллез", "Shigellosis", []),
    (
        "A04",
        "diagnosis",
        "Басқа бактериялық ішек инфекциялары",
        "Другие бактериальные кишечные инфекции",
        "Other bacterial intestinal infections",
        [],
    ),
    (
        "A05",
        "diagnosis",
        "Басқа бактериялық тағамдық уланулар",
        "Другие бактериальные пищевые отравления",
        "Other bacterial foodborne intoxications",
        [],
    ),
    ("A06", "diagnosis", "Амебиаз", "Амебиаз", "Amoebiasis", []),
    (
        "A07",
        "diagnosis",
        "Қарапайымдылар тудыратын басқа ішек аурулары",
        "Другие протозойные кишечные болезни",
        "Other protozoal intestinal diseases",
        [],
    ),
    (
        "A08",
        "diagnosis",
        "Вирустық және басқа нақтыланған ішек инфекциялары",
        "Вирусные и другие уточненные кишечные инфекции",
        "Viral and other specified intestinal infections",
        [],
    ),
    (
        "A09",
        "diagnosis",
        "Жұқпалы және анықталмаған текті басқа гастроэнтериттер мен колиттер",
        "Другие гастроэнтериты и колиты инфекционного и неуточненного происхождения",
        "Other gastroenteritis and colitis of infectious and unspecified origin",
        [],
    ),
    (
        "A15",
        "diagnosis",
        "Бактериологиялық және гистологиялық расталған тыныс алу ағзаларының туберкулезі",
        "Туберкулез органов дыхания, подтвержденный бактериологически и гистологически",
        "Respiratory tuberculosis, bacteriologically and histologically confirmed",
        [],
    ),
    (
        "A16",
        "diagnosis",
        "Бактериологиялық немесе гистологиялық расталмаған тыныс алу ағзаларының туберкулезі",
        "Туберкулез органов дыхания, не подтвержденный бактериологически или гистологически",
        "Respiratory tuberculosis, not confirmed bacteriologically or histologically",
        [],
    ),
    (
        "A17",
        "diagnosis",
        "Жүйке жүйесінің туберкулезі",
        "Туберкулез нервной системы",
        "Tuberculosis of nervous system",
        [],
    ),
    (
        "A18",
        "diagnosis",
        "Басқа ағзалардың туберкулезі",
        "Туберкулез других органов",
        "Tuberculosis of other organs",
        [],
    ),
    ("A19", "diagnosis", "Милиарлы туберкулез", "Милиарный туберкулез", "Miliary tuberculosis", []),
    ("A36", "diagnosis", "Дифтерия", "Дифтерия", "Diphtheria", []),
    ("A50", "diagnosis", "Туа біткен мерез", "Врожденный сифилис", "Congenital syphilis", []),
    ("A51", "diagnosis", "Ерте мерез", "Ранний сифилис", "Early syphilis", []),
    ("A52", "diagnosis", "Кеш мерез", "Поздний сифилис", "Late syphilis", []),
    (
        "A53",
        "diagnosis",
        "Мерездің басқа және анықталмаған түрлері",
        "Другие и неуточненные формы сифилиса",
        "Other and unspecified syphilis",
        [],
    ),
    ("A54", "diagnosis", "Гонококк инфекциясы (соз)", "Гонококковая инфекция", "Gonococcal infection", []),
    ("B15", "diagnosis", "Жіті A гепатиті", "Острый гепатит A", "Acute hepatitis A", []),
    ("B35", "diagnosis", "Дерматофития", "Дерматофития", "Dermatophytosis", []),
    ("B36", "diagnosis", "Басқа беткей микоздар", "Другие поверхностные микозы", "Other superficial mycoses", []),
    ("B65-B83", "diagnosis", "Гельминтоздар", "Гельминтозы", "Helminthiases", []),
    ("B85", "diagnosis", "Педикулез және фтириаз", "Педикулез и фтириаз", "Pediculosis and phthiriasis", []),
    ("B86", "diagnosis", "Қотыр", "Чесотка", "Scabies", []),
    (
        "Z22.0",
        "carrier",
        "Іш сүзегі қоздырғышын тасымалдаушылық",
        "Носительство возбудителя брюшного тифа",
        "Carrier of typhoid",
        [],
    ),
    (
        "Z22.1",
        "carrier",
        "Басқа ішек жұқпалы аурулары қоздырғыштарын тасымалдаушылық",
        "Носительство возбудителей других кишечных инфекционных болезней",
        "Carrier of other intestinal infectious diseases",
        [],
    ),
    (
        "Z22.2",
        "carrier",
        "Дифтерия қоздырғышын тасымалдаушылық",
        "Носительство возбудителя дифтерии",
        "Carrier of diphtheria",
        [],
    ),
    (
        "Z22.3",
        "carrier",
        "Басқа нақтыланған бактериялық аурулар қоздырғыштарын тасымалдаушылық (стафилококк, стрептококк)",
        "Носительство возбудителей других уточненных бактериальных болезней (стафилококк, стрептококк)",
        "Carrier of other specified bacterial diseases (staphylococci, streptococci)",
        ["food", "catering", "children", "medical", "dairy_farms"],
    ),
    (
        "Z22.8",
        "carrier",
        "Басқа жұқпалы аурулар қоздырғыштарын тасымалдаушылық",
        "Носительство возбудителей других инфекционных болезней",
        "Carrier of other infectious diseases",
        [],
    ),
]


def upgrade() -> None:
    rule = sa.table(
        "medbook_infection_rule",
        sa.column("code", sa.String),
        sa.column("kind", sa.String),
        sa.column("name_kk", sa.String),
        sa.column("name_ru", sa.String),
        sa.column("name_en", sa.String),
        sa.column("groups", sa.JSON),
        sa.column("source", sa.Text),
        sa.column("verified", sa.Boolean),
        sa.column("valid_from", sa.Date),
        sa.column("valid_to", sa.Date),
    )
    op.bulk_insert(
        rule,
        [
            {
                "code": code,
                "kind": kind,
                "name_kk": kk,
                "name_ru": ru,
                "name_en": en,
                "groups": groups,
                "source": SOURCE,
                "verified": False,
                "valid_from": VALID_FROM,
                "valid_to": None,
            }
            for code, kind, kk, ru, en, groups in RULES
        ],
    )


def downgrade() -> None:
    codes = ", ".join(f"'{code}'" for code, *_ in RULES)
    op.execute(
        f"DELETE FROM medbook_infection_rule WHERE created_by IS NULL AND valid_from = '{VALID_FROM.isoformat()}' "
        f"AND code IN ({codes})"
    )
