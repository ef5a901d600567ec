"""Screens of the referral domain: the organisation directory (referrals follow)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from casework.auth.policy import allow
from casework.auth.roles import Role
from casework.errors import ValidationError
from casework.extensions import db
from casework.forms import apply_domain_errors, form_status
from casework.geo import data as geo
from casework.service_types import SERVICE_TYPES
from referral import bp, services
from referral.forms import KIND_LABELS, OrganisationForm
from referral.models import Organisation

PAGE_SIZE = 50
DIRECTORY_ROLES = (Role.ADMIN, Role.PROVINCE_OFFICER, Role.COMMUNE_OFFICER, Role.HOST)


@bp.get("/organisations")
@allow(*DIRECTORY_ROLES)
def organisations():
    after = request.args.get("after", "")[:22]
    service = request.args.get("service", "")
    q = services.organisations_visible_to(current_user).order_by(Organisation.name, Organisation.id)
    if service in SERVICE_TYPES:
        from referral.models import OrganisationService

        q = q.where(Organisation.id.in_(db.select(OrganisationService.organisation_id)
                                        .where(OrganisationService.service == service)))
    if after:
        last = db.session.get(Organisation, after)
        if last is not None:
            q = q.where(db.tuple_(Organisation.name, Organisation.id) > (last.name, last.id))
    rows = list(db.session.scalars(q.limit(PAGE_SIZE + 1)))
    next_after = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return render_template("referral/organisations.html", organisations=rows[:PAGE_SIZE], next_after=next_after,
                           service=service, service_types=SERVICE_TYPES, kinds=KIND_LABELS, geo=geo,
                           can_manage=services.can_manage_organisations(current_user))


def _input(form: OrganisationForm) -> services.OrganisationInput:
    return services.OrganisationInput(
        name=form.name.data or "", kind=form.kind.data or "", province_code=form.province_code.data or None,
        services=tuple(form.services.data or ()), commune_codes=services.parse_codes(form.commune_codes.data or ""),
        contact=form.contact.data or "", active=bool(form.active.data))


@bp.route("/organisations/new", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.PROVINCE_OFFICER)
def organisation_new():
    form = OrganisationForm()
    if request.method == "GET" and current_user.province_code:
        form.province_code.data = current_user.province_code
    if form.validate_on_submit():
        try:
            org = services.save_organisation(current_user, _input(form))
        except ValidationError as e:
            apply_domain_errors(form, e)
        else:
            flash(_("The organisation was saved."), "info")
            return redirect(url_for("referral.organisation_edit", organisation_id=org.id))
    return render_template("referral/organisation_form.html", form=form, organisation=None), form_status(form)


@bp.route("/organisations/<organisation_id>", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.PROVINCE_OFFICER)
def organisation_edit(organisation_id: str):
    org = services.get_organisation_or_404(current_user, organisation_id, manage=True)
    form = OrganisationForm(obj=None if request.method == "POST" else org)
    if request.method == "GET":
        form.commune_codes.data = ", ".join(org.commune_codes)
        form.services.data = org.services
    if form.validate_on_submit():
        try:
            services.save_organisation(current_user, _input(form), org)
        except ValidationError as e:
            apply_domain_errors(form, e)
        else:
            flash(_("The organisation was saved."), "info")
            return redirect(url_for("referral.organisation_edit", organisation_id=org.id))
    return render_template("referral/organisation_form.html", form=form, organisation=org), form_status(form)
