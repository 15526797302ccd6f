# ruff: noqa: E501 - prose data, one paragraph per string
"""Authoring-time generator for the sample KB's PDF and DOCX files (not used at run time).

Run with fpdf2 and python-docx available:  python sample_kb/_authoring/build_binary_docs.py
The outputs are committed; this script is kept so they can be regenerated.
"""

from __future__ import annotations

from pathlib import Path

import docx
from fpdf import FPDF

ROOT = Path(__file__).resolve().parent.parent

# (title, [(heading, [paragraphs])...]); for PDFs each heading starts a new page.
PDFS = {
    "security/security-whitepaper.pdf": (
        "Northwind Data Security Whitepaper",
        [
            (
                "Overview",
                [
                    "This whitepaper describes how Northwind Data protects customer data. Northwind Data is certified to SOC 2 Type II and ISO/IEC 27001:2022. Reports are available under NDA from the Trust Center at trust.northwinddata.example.",
                    "Customer data is processed only in the region chosen for the workspace: United States (AWS us-east-1) or European Union (AWS eu-west-1 for processing, with data residency in the Netherlands region).",
                ],
            ),
            (
                "Encryption",
                [
                    "All data in transit is encrypted with TLS 1.2 or newer. Data at rest, including temporary files during a run, is encrypted with AES-256. Connection secrets are encrypted with keys held in AWS KMS and rotated yearly.",
                    "Enterprise customers can bring their own key (BYOK) so that revoking the key makes their connection secrets unreadable.",
                ],
            ),
            (
                "Access control",
                [
                    "Employees access production only through a bastion with hardware security keys, for a limited time, after approval. All access is logged and reviewed weekly. Support staff cannot see customer row data.",
                    "Customers can enforce single sign-on and two-factor authentication, restrict access by IP address (Enterprise) and export audit logs to their SIEM.",
                ],
            ),
            (
                "Vulnerability management and testing",
                [
                    "An independent firm performs a penetration test every year. We run a public bug bounty programme; report vulnerabilities to security@northwinddata.example. Critical vulnerabilities are patched within 72 hours.",
                ],
            ),
            (
                "Incident response",
                [
                    "We notify affected customers of a personal-data breach without undue delay and no later than 48 hours after confirming it, which lets customers meet the 72-hour GDPR notification requirement.",
                ],
            ),
        ],
    ),
    "security/service-level-agreement.pdf": (
        "Service Level Agreement (Enterprise)",
        [
            (
                "Uptime commitment",
                [
                    "For Enterprise plans, Northwind Data commits to 99.9% monthly uptime of the pipeline scheduling and execution service and the web application. Uptime excludes planned maintenance announced at least 7 days ahead and problems caused by sources, destinations or the customer's network.",
                ],
            ),
            (
                "Service credits",
                [
                    "If monthly uptime falls below 99.9%, the customer receives a service credit of 10% of the monthly fee; below 99.0%, 25%; below 95.0%, 50%. Credits must be requested within 30 days of the end of the month and are applied to the next invoice. Credits are the sole remedy for missed uptime.",
                ],
            ),
            (
                "Support response times",
                [
                    "Severity 1 (production pipelines down): response within 1 hour, 24/7. Severity 2 (degraded): within 4 business hours. Severity 3 (questions): within 1 business day.",
                ],
            ),
        ],
    ),
    "security/gdpr-and-dpa.pdf": (
        "GDPR and the Data Processing Agreement",
        [
            (
                "Roles",
                [
                    "Under the GDPR, the customer is the controller of personal data in its pipelines and Northwind Data acts as processor. Our Data Processing Agreement (DPA) is part of the Terms of Service for every plan; no signature is needed, but Enterprise customers can sign a countersigned copy.",
                ],
            ),
            (
                "Subprocessors",
                [
                    "Our subprocessors are Amazon Web Services (hosting), Google Cloud (EU backup region), Stripe (payments, no pipeline data) and Zendesk (support tickets). We announce new subprocessors 30 days ahead by email to subscribers of the subprocessor list.",
                ],
            ),
            (
                "International transfers",
                [
                    "Workspaces in the EU region are processed in the EU. Where personal data leaves the EU, for example account data used for support, transfers rely on the EU Standard Contractual Clauses and the EU-US Data Privacy Framework.",
                ],
            ),
        ],
    ),
}

DOCX = {
    "guides/onboarding-guide.docx": (
        "Enterprise Onboarding Guide",
        [
            (
                "Week 1: kick-off",
                [
                    "Your customer success manager schedules a kick-off call to agree goals, the first pipelines to build and the people involved.",
                    "Set up single sign-on and invite your team before building pipelines so that ownership is clear.",
                ],
            ),
            (
                "Week 2: first pipelines",
                [
                    "Connect your warehouse and your two most important sources. Run the first historical syncs outside business hours if the sources are production databases.",
                ],
            ),
            (
                "Week 3-4: production readiness",
                [
                    "Turn on failure notifications to Slack or PagerDuty, define schedules, and review the security settings: enforced 2FA, IP allow-list and audit log export.",
                    "Book a review call with your customer success manager to check costs and row usage against your contract.",
                ],
            ),
        ],
    ),
    "billing/invoices-and-payment-methods.docx": (
        "Invoices and Payment Methods",
        [
            (
                "Updating your card",
                [
                    "Owners and billing admins update the card under Settings > Billing > Payment method. The new card is used for the next charge; a failed charge is retried immediately after the update.",
                ],
            ),
            (
                "Paying by bank transfer",
                [
                    "Annual Growth and Enterprise plans can pay by bank transfer. Ask billing@northwinddata.example to switch; invoices then show our bank details and have 30-day payment terms.",
                ],
            ),
            (
                "Failed payments",
                [
                    "When a payment fails we email the billing contact and retry after 3, 5 and 7 days. If all retries fail, the workspace is paused 14 days after the first failure; pipelines resume as soon as the invoice is paid.",
                ],
            ),
        ],
    ),
    "account/enterprise-sso-setup.docx": (
        "Setting Up Single Sign-On (SAML and OIDC)",
        [
            (
                "Before you start",
                [
                    "Single sign-on is available on the Enterprise plan. You need administrator access to your identity provider (Okta, Microsoft Entra ID, Google Workspace, OneLogin or any SAML 2.0 or OpenID Connect provider).",
                ],
            ),
            (
                "Configure SAML",
                [
                    "In Northwind Data go to Settings > Security > Single sign-on and copy the ACS URL and Entity ID into a new SAML application in your identity provider. Map the email attribute to NameID. Upload the identity provider's metadata XML back in Northwind Data.",
                    "Test with one user before enforcing SSO. Once enforced, members can only sign in through the identity provider; owners keep a break-glass password login.",
                ],
            ),
            (
                "SCIM provisioning",
                [
                    "Enable SCIM to create, update and deactivate members automatically from your identity provider. Deactivated users are removed from the workspace within 5 minutes.",
                ],
            ),
        ],
    ),
}


def build_pdf(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> None:
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("Northwind Data")
    pdf.set_creation_date(__import__("datetime").datetime(2026, 1, 15))
    for heading, paragraphs in sections:
        pdf.add_page()
        if pdf.page == 1:
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def build_docx(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> None:
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Northwind Data"
    document.add_heading(title, level=0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
    document.save(str(path))


def main() -> None:
    for rel, (title, sections) in PDFS.items():
        build_pdf(ROOT / rel, title, sections)
    for rel, (title, sections) in DOCX.items():
        build_docx(ROOT / rel, title, sections)


if __name__ == "__main__":
    main()
