"""The tables of the synthetic MFI: every column with its type, unit and meaning.

This module is the single source of truth for the dataset layout. The generator writes
exactly these columns in this order, :func:`clientprotection.data.load_mfi` uses the types to
parse them, and the Frictionless ``datapackage.json`` and the data dictionary are rendered
from it.

Types follow Frictionless Table Schema: ``string``, ``integer``, ``number``, ``boolean``,
``date`` (ISO ``YYYY-MM-DD``), ``datetime`` (ISO ``YYYY-MM-DDTHH:MM:SS``). A field with
``categorical=True`` is loaded as a pandas ``category``. Money is in the scenario's currency
(see ``datapackage.json`` → ``currency``); rates and shares are fractions (0.25 means 25%).

Examples
--------
>>> from clientprotection.schema import TABLES
>>> [f.name for f in TABLES["branches"].fields][:3]
['branch_id', 'name', 'region']
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One column of a table."""

    name: str
    type: str
    description: str
    unit: str = ""
    categorical: bool = False
    required: bool = True  # False: empty cells (missing values) are allowed
    personal: bool = False  # personal data under principle 6 (privacy)


@dataclass(frozen=True)
class Table:
    """One table of the dataset."""

    name: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()  # (column, table, column)
    compressed: bool = False  # written as .csv.gz
    sort_by: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def filename(self) -> str:
        return f"{self.name}.csv.gz" if self.compressed else f"{self.name}.csv"


M = "currency"  # unit of money columns

_T: list[Table] = [
    Table(
        "branches",
        "Branches of the MFI.",
        (
            Field("branch_id", "string", "Branch identifier, e.g. B01."),
            Field("name", "string", "Branch name (a town)."),
            Field("region", "string", "Region of the country.", categorical=True),
            Field("rural", "boolean", "True if the branch serves a mainly rural area."),
            Field("opened_on", "date", "Date the branch opened."),
            Field("incentive_scheme", "string",
                  "How the branch's loan officers earn their bonus: 'fixed_salary', "
                  "'portfolio_quality' (bonus on repayment and PAR) or 'disbursement_volume' "
                  "(bonus on the number and amount of loans disbursed).", categorical=True),
        ),
        ("branch_id",),
    ),
    Table(
        "officers",
        "Staff who appear in the data: loan officers, branch managers and head-office staff.",
        (
            Field("officer_id", "string", "Staff identifier, e.g. O017 (head office: H01)."),
            Field("branch_id", "string", "Branch the staff member works at; empty for head office.",
                  required=False),
            Field("role", "string", "'loan_officer', 'branch_manager' or 'head_office'.",
                  categorical=True),
            Field("name", "string", "Staff member's name.", personal=True),
            Field("gender", "string", "'female' or 'male'.", categorical=True),
            Field("hired_on", "date", "Hiring date."),
            Field("incentive_scheme", "string",
                  "Bonus scheme of this staff member (see branches.incentive_scheme).",
                  categorical=True),
            Field("methodology", "string",
                  "Loan methodology the officer serves: 'group', 'individual' or empty for staff "
                  "who are not loan officers.", categorical=True, required=False),
        ),
        ("officer_id",),
        (("branch_id", "branches", "branch_id"),),
    ),
    Table(
        "products",
        "Loan products with their full pricing structure and what marketing states.",
        (
            Field("product_id", "string", "Product identifier, e.g. P1."),
            Field("name", "string", "Product name."),
            Field("methodology", "string", "'group' or 'individual' lending.", categorical=True),
            Field("purpose", "string", "'business', 'agriculture', 'consumption' or 'housing'.",
                  categorical=True),
            Field("frequency", "string",
                  "Repayment frequency: 'weekly', 'fortnightly', 'monthly' or 'balloon' "
                  "(interest monthly, principal at the end).", categorical=True),
            Field("periods_per_year", "integer", "Repayment periods per year (52, 26 or 12).",
                  "1/year"),
            Field("interest_method", "string",
                  "'flat' (interest on the original principal) or 'declining' (on the balance).",
                  categorical=True),
            Field("rate_yearly", "number",
                  "Nominal yearly interest rate stated in the contract (flat or declining).",
                  "fraction/year"),
            Field("upfront_fee", "number", "Fee deducted at disbursement, share of principal.",
                  "fraction"),
            Field("fee_per_payment", "number", "Fee charged with every instalment, share of "
                  "principal.", "fraction"),
            Field("insurance", "number", "Credit-life insurance premium paid upfront, share of "
                  "principal.", "fraction"),
            Field("compulsory_savings", "number",
                  "Savings withheld at disbursement and returned with the last payment, share of "
                  "principal.", "fraction"),
            Field("savings_interest", "number", "Yearly interest paid on compulsory savings.",
                  "fraction/year"),
            Field("tax_on_interest", "number", "Tax (e.g. VAT) charged on interest.", "fraction"),
            Field("min_term", "integer", "Shortest term offered.", "instalments"),
            Field("max_term", "integer", "Longest term offered.", "instalments"),
            Field("min_amount", "number", "Smallest loan offered.", M),
            Field("max_amount", "number", "Largest loan offered.", M),
            Field("advertised_rate_monthly", "number",
                  "Monthly rate shown in marketing material.", "fraction/month"),
            Field("advertised_text", "string", "The sentence used in marketing."),
            Field("launched_on", "date", "Date the product was launched."),
        ),
        ("product_id",),
    ),
    Table(
        "clients",
        "Clients (borrowers and rejected applicants). Contains personal data.",
        (
            Field("client_id", "string", "Client identifier, e.g. C000123."),
            Field("branch_id", "string", "Home branch."),
            Field("officer_id", "string", "Loan officer in charge of the client."),
            Field("group_id", "string", "Solidarity group (group methodology); empty otherwise.",
                  required=False),
            Field("name", "string", "Full name.", personal=True),
            Field("national_id", "string", "National identity number.", personal=True),
            Field("phone", "string", "Mobile phone number.", personal=True),
            Field("address", "string", "Street address or village and landmark.", personal=True),
            Field("birth_date", "date", "Date of birth.", personal=True),
            Field("gender", "string", "'female' or 'male'.", categorical=True),
            Field("rural", "boolean", "True if the client lives in a rural area."),
            Field("village", "string", "Village or neighbourhood.", categorical=True,
                  personal=True),
            Field("language_group", "string",
                  "Home language group: 'majority' or 'minority'.", categorical=True),
            Field("household_size", "integer", "People in the household.", "persons"),
            Field("business_type", "string",
                  "Main activity: 'trade', 'agriculture', 'livestock', 'services', "
                  "'manufacturing' or 'salaried'.", categorical=True),
            Field("monthly_income", "number",
                  "Household net income from all activities, per month, at enrolment.", M),
            Field("monthly_expenses", "number",
                  "Household living expenses, per month, at enrolment.", M),
            Field("joined_on", "date", "Date the client first applied."),
            Field("consent_data_sharing", "boolean",
                  "Client signed consent to share data with the credit bureau and partners."),
        ),
        ("client_id",),
        (("branch_id", "branches", "branch_id"), ("officer_id", "officers", "officer_id")),
    ),
    Table(
        "applications",
        "Loan applications, approved and rejected.",
        (
            Field("application_id", "string", "Application identifier, e.g. A0000123."),
            Field("client_id", "string", "Applicant."),
            Field("branch_id", "string", "Branch."),
            Field("officer_id", "string", "Loan officer who assessed the application."),
            Field("product_id", "string", "Product applied for."),
            Field("applied_on", "date", "Date of application."),
            Field("cycle", "integer", "Loan cycle: 1 for a first loan, 2 for the second, ..."),
            Field("amount_requested", "number", "Amount requested.", M),
            Field("term", "integer", "Term requested.", "instalments"),
            Field("risk_score", "number",
                  "The MFI's credit score at application, 0 (worst) to 100 (best).", "points"),
            Field("dsr", "number",
                  "Debt-service ratio at application: all monthly debt payments (this loan and "
                  "other lenders' loans from the bureau) over monthly net household income "
                  "(income minus living expenses).", "fraction"),
            Field("bureau_checked", "boolean", "The credit bureau was consulted."),
            Field("other_lenders", "integer",
                  "Active loans at other lenders at application (bureau, or self-declared when "
                  "the bureau was not checked).", "loans"),
            Field("decision", "string", "'approved' or 'rejected'.", categorical=True),
            Field("rejection_reason", "string",
                  "Reason for a rejection: 'repayment_capacity', 'over_indebted', "
                  "'bad_history', 'incomplete_documents', 'other'; empty when approved.",
                  categorical=True, required=False),
        ),
        ("application_id",),
        (
            ("client_id", "clients", "client_id"),
            ("branch_id", "branches", "branch_id"),
            ("officer_id", "officers", "officer_id"),
            ("product_id", "products", "product_id"),
        ),
    ),
    Table(
        "loans",
        "Disbursed loans, their terms and their state on the snapshot date.",
        (
            Field("loan_id", "string", "Loan identifier, e.g. L0000123."),
            Field("application_id", "string", "Application the loan came from."),
            Field("client_id", "string", "Borrower."),
            Field("branch_id", "string", "Branch."),
            Field("officer_id", "string", "Loan officer."),
            Field("product_id", "string", "Product."),
            Field("cycle", "integer", "Loan cycle (1 for a first loan)."),
            Field("disbursed_on", "date", "Disbursement date."),
            Field("amount", "number", "Principal (face amount of the loan).", M),
            Field("term", "integer", "Number of instalments.", "instalments"),
            Field("periods_per_year", "integer", "Instalments per year.", "1/year"),
            Field("interest_method", "string", "'flat' or 'declining'.", categorical=True),
            Field("rate_yearly", "number", "Contract interest rate per year.", "fraction/year"),
            Field("upfront_fee", "number", "Upfront fee charged.", M),
            Field("insurance_premium", "number", "Credit-life insurance premium charged.", M),
            Field("compulsory_savings", "number", "Savings withheld at disbursement.", M),
            Field("net_disbursed", "number",
                  "Cash the client received: amount minus fee, insurance and savings.", M),
            Field("instalment", "number",
                  "Total due at the first instalment (principal, interest, fees, tax); for "
                  "balloon loans this is the interest-only payment.", M),
            Field("maturity_on", "date", "Date of the last scheduled instalment."),
            Field("dsr_at_approval", "number",
                  "Debt-service ratio at approval (see applications.dsr).", "fraction"),
            Field("key_facts_given", "boolean",
                  "A Key Facts Statement with the APR was given before signing."),
            Field("restructured", "boolean", "The loan was rescheduled or refinanced."),
            Field("restructured_on", "date", "Date of restructuring.", required=False),
            Field("written_off", "boolean", "The loan was written off."),
            Field("written_off_on", "date", "Date of the write-off.", required=False),
            Field("status", "string",
                  "On the snapshot date: 'active', 'repaid' or 'written_off'.", categorical=True),
            Field("outstanding", "number",
                  "Principal outstanding on the snapshot date: the principal of instalments not "
                  "yet paid in full (a partial payment reduces nothing until the instalment is "
                  "paid); 0 for repaid and written-off loans.", M),
            Field("days_late", "integer",
                  "Days the oldest unpaid instalment is overdue on the snapshot date (0 if none).",
                  "days"),
        ),
        ("loan_id",),
        (
            ("application_id", "applications", "application_id"),
            ("client_id", "clients", "client_id"),
            ("branch_id", "branches", "branch_id"),
            ("officer_id", "officers", "officer_id"),
            ("product_id", "products", "product_id"),
        ),
    ),
    Table(
        "schedule",
        "Repayment schedule and repayments: one row per instalment, due against paid.",
        (
            Field("loan_id", "string", "Loan."),
            Field("instalment_no", "integer", "Instalment number, 1 to term."),
            Field("due_on", "date", "Due date."),
            Field("principal_due", "number", "Principal due.", M),
            Field("interest_due", "number", "Interest due (including tax on interest).", M),
            Field("fees_due", "number", "Fees due with this instalment.", M),
            Field("paid_on", "date",
                  "Date the instalment was paid in full; empty if not (yet) paid on the "
                  "snapshot date.", required=False),
            Field("amount_paid", "number", "Amount paid towards this instalment by the snapshot "
                  "date.", M),
            Field("days_late", "integer",
                  "Days between due date and payment (or the snapshot date if unpaid and due); "
                  "0 if on time or not yet due.", "days"),
        ),
        ("loan_id", "instalment_no"),
        (("loan_id", "loans", "loan_id"),),
        compressed=True,
        sort_by=("loan_id", "instalment_no"),
    ),
    Table(
        "bureau",
        "Credit bureau records: the clients' loans at other lenders.",
        (
            Field("record_id", "string", "Bureau record identifier."),
            Field("client_id", "string", "Client (matched by national ID)."),
            Field("lender", "string", "Other lender's name.", categorical=True),
            Field("lender_type", "string", "'mfi', 'bank', 'cooperative' or 'digital'.",
                  categorical=True),
            Field("opened_on", "date", "Loan start."),
            Field("closed_on", "date", "Loan end (scheduled or actual).", required=False),
            Field("amount", "number", "Principal.", M),
            Field("monthly_payment", "number", "Monthly repayment.", M),
            Field("worst_days_late", "integer", "Worst arrears on this loan.", "days"),
        ),
        ("record_id",),
        (("client_id", "clients", "client_id"),),
        compressed=True,
    ),
    Table(
        "collections",
        "Collection actions on late loans.",
        (
            Field("action_id", "string", "Action identifier."),
            Field("loan_id", "string", "Loan in arrears."),
            Field("client_id", "string", "Client."),
            Field("officer_id", "string", "Staff member who acted."),
            Field("action_at", "datetime", "Date and local time of the action."),
            Field("method", "string",
                  "'phone_call', 'sms', 'home_visit', 'group_meeting', 'workplace_visit', "
                  "'letter' or 'collateral_seizure'.", categorical=True),
            Field("days_late", "integer", "Days late when the action was taken.", "days"),
        ),
        ("action_id",),
        (
            ("loan_id", "loans", "loan_id"),
            ("client_id", "clients", "client_id"),
            ("officer_id", "officers", "officer_id"),
        ),
        compressed=True,
    ),
    Table(
        "complaints",
        "Complaints received, and how they were handled.",
        (
            Field("complaint_id", "string", "Complaint identifier."),
            Field("client_id", "string", "Complainant."),
            Field("branch_id", "string", "Branch concerned."),
            Field("officer_id", "string", "Staff member complained about, if any.",
                  required=False),
            Field("product_id", "string", "Product concerned, if any.", required=False),
            Field("channel", "string",
                  "'hotline', 'branch_desk', 'suggestion_box', 'sms', 'loan_officer' or "
                  "'social_media'.", categorical=True),
            Field("category", "string",
                  "'collection_practices', 'staff_conduct', 'pricing_fees', 'insurance_claim', "
                  "'service_delay', 'data_privacy', 'fraud' or 'other'.", categorical=True),
            Field("received_on", "date", "Date received."),
            Field("acknowledged_on", "date", "Date acknowledged; empty if never.",
                  required=False),
            Field("resolved_on", "date", "Date resolved; empty if still open.", required=False),
            Field("outcome", "string",
                  "'upheld', 'partly_upheld', 'not_upheld' or 'open'.", categorical=True),
            Field("escalated", "boolean", "Escalated to head office or an ombudsman."),
        ),
        ("complaint_id",),
        (
            ("client_id", "clients", "client_id"),
            ("branch_id", "branches", "branch_id"),
            ("officer_id", "officers", "officer_id"),
            ("product_id", "products", "product_id"),
        ),
    ),
    Table(
        "access_log",
        "Access to client records in the MFI's information system.",
        (
            Field("event_id", "string", "Event identifier."),
            Field("accessed_at", "datetime", "Date and local time."),
            Field("officer_id", "string", "Staff member who accessed the record."),
            Field("client_id", "string", "Client whose record was accessed."),
            Field("action", "string", "'view', 'edit' or 'export'.", categorical=True),
            Field("purpose", "string",
                  "Purpose entered by the user: 'loan_appraisal', 'collection', "
                  "'customer_service', 'audit', 'reporting' or empty.", categorical=True,
                  required=False),
        ),
        ("event_id",),
        (("officer_id", "officers", "officer_id"), ("client_id", "clients", "client_id")),
        compressed=True,
    ),
]

TABLES: dict[str, Table] = {t.name: t for t in _T}
"""Every table of the dataset, in dependency order."""

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
