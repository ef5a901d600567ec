"""Screens for moving a case to another trusted address (issue 13); the rules are in ``transfer``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from casework.auth.models import User
from casework.auth.policy import acting_user, acting_user_and, allow
from casework.auth.roles import Role
from casework.cases import presenters, services, transfer
from casework.cases.models import Address, Case
from casework.cases.schemas import TransferDeclineIn, TransferIn
from casework.errors import DomainError
from casework.extensions import db
from casework.forms import SelectField, apply_domain_errors, form_status
from casework.geo import data as geo
from casework.schemas import form_values
from casework.text import vi_sort_key

# Its own blueprint, so that this module never imports the package that registers it (no import circle).
bp = Blueprint("transfers", __name__)


class TransferForm(FlaskForm):
    province = SelectField("", validate_choice=False)
    address_id = SelectField("", validate_choice=False)
    reason = TextAreaField("", validators=[Optional(), Length(max=2000)])


class TransferDecisionForm(FlaskForm):
    decision = StringField("")
    reason = TextAreaField("", validators=[Optional(), Length(max=2000)])


def _me() -> User:
    return acting_user()


def _addresses(province_code: str) -> list[Address]:
    rows = list(db.session.scalars(select(Address).where(Address.province_code == province_code,
                                                         Address.active.is_(True))))
    return sorted(rows, key=lambda a: (vi_sort_key(presenters.commune_name(a.commune_code) or ""),
                                       vi_sort_key(a.name)))


@bp.route("/cases/<case_id>/transfer", methods=["GET", "POST"])
@allow(Role.COMMUNE_OFFICER)
def new(case_id: str):
    """Two steps that work without JavaScript: choose the province, then the address and the reason."""
    user, case = acting_user_and(services.get_case_or_404, case_id)
    form = TransferForm()
    province = (request.values.get("province") or case.province_code)[:2]
    if geo.province(province) is None:
        province = case.province_code
    form.province.data = province
    addresses = _addresses(province)
    status = 200
    if request.method == "POST" and request.form.get("step") == "save":
        try:
            data = TransferIn.from_form(form_values(request.form))
            transfer.request_transfer(user, case, data.address_id, data.reason)
        except DomainError as e:
            apply_domain_errors(form, e)
            if e.status == 409:
                form.form_errors.append(e.message)
                status = 409
        else:
            flash(_("The move was sent to the receiving commune. Nothing changes until it is accepted."), "info")
            return redirect(url_for("cases.view", case_id=case.id))
    pending = transfer.pending_transfer(case)
    return render_template("cases/transfer.html", case=case, form=form, provinces=geo.provinces(),
                           addresses=addresses, pending=pending, commune_name=presenters.commune_name,
                           L=presenters.labels()), status if status != 200 else form_status(form)


@bp.route("/transfers/<transfer_id>", methods=["GET", "POST"])
@allow(Role.COMMUNE_OFFICER)
def view(transfer_id: str):
    user, row = acting_user_and(transfer.get_transfer_or_404, transfer_id)
    form = TransferDecisionForm()
    receiving = user.commune_code == row.to_commune_code
    if request.method == "POST":
        try:
            if form.decision.data == "accept":
                case = transfer.accept_transfer(user, row)
                flash(_("The case now belongs to the new address."), "info")
                return redirect(url_for("cases.view", case_id=case.id))
            transfer.decline_transfer(user, row, TransferDeclineIn.from_form(form_values(request.form)).reason)
        except DomainError as e:
            apply_domain_errors(form, e)
            form.form_errors.append(e.message)
        else:
            flash(_("The move was declined; the case stays where it is."), "info")
            return redirect(url_for("transfers.view", transfer_id=row.id))
    # The reason is free text about her: reading it is audited like any read of the case.
    services.record_view(user, db.session.get_one(Case, row.case_id), ["transfer_reason"], action="transfer_view")
    return render_template("cases/transfer_view.html", row=row, form=form, receiving=receiving,
                           reference=transfer.case_reference(row), commune_name=presenters.commune_name,
                           from_address=db.session.get(Address, row.from_address_id),
                           to_address=db.session.get(Address, row.to_address_id)), form_status(form)
