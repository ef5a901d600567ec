"""The account inputs read through their schemas (issue 14): the same messages from a form and a body, secrets
kept out of every repr and message, the OpenAPI request bodies generated from the declarations."""

from __future__ import annotations

import logging

import pytest

from casework.api.core import openapi30
from casework.auth import changes
from casework.auth.schemas import (
    AccountChangeRequest,
    Credentials,
    EnrolledPasswordChangeApi,
    NewAccount,
    PasswordChange,
    PasswordChangeApi,
    TokenRequest,
)
from casework.errors import ValidationError
from tests.schema_errors import refused

SECRET = "mật khẩu rất bí mật 12345"
REQUIRED_VI = "Ô này là bắt buộc."


def test_the_token_body_is_read_exactly_as_typed(app):
    with app.test_request_context():
        body = TokenRequest.from_json({"username": " Lan ", "password": f"  {SECRET}  ", "totp": " 123 456 "})
    assert (body.username, body.password, body.totp) == (" Lan ", f"  {SECRET}  ", " 123 456 ")


def test_the_token_body_gives_the_messages_of_before(app):
    with app.test_request_context():
        assert refused(TokenRequest.from_json, {"username": "a"}) == {"password": [REQUIRED_VI],
                                                                     "totp": [REQUIRED_VI]}
        fields = refused(TokenRequest.from_json, {"username": 5, "password": "x" * 100_001, "totp": "1" * 33})
    assert fields == {"username": ["Ô này phải là chữ."], "password": ["Tối đa 100000 ký tự."],
                      "totp": ["Tối đa 32 ký tự."]}


def test_no_secret_is_in_a_repr_or_a_message(app, caplog):
    caplog.set_level(logging.DEBUG)
    with app.test_request_context():
        values = [TokenRequest.from_json({"username": "lan", "password": SECRET, "totp": SECRET[:30]}),
                  Credentials.from_form({"username": "lan", "password": SECRET, "totp": SECRET[:30]}),
                  PasswordChange.from_form({"current_password": SECRET, "new_password": SECRET + "!",
                                            "totp": SECRET[:30]}),
                  NewAccount.from_form({"username": "lan", "role": "auditor", "password": SECRET})]
        for value in values:
            assert SECRET not in repr(value) and SECRET[:30] not in repr(value) and SECRET not in str(value)
        assert "lan" in repr(values[0]) and "auditor" in repr(values[3])  # the rest still prints
        with pytest.raises(ValidationError) as raised:
            TokenRequest.from_json({"username": "lan", "password": SECRET * 5000, "totp": SECRET})
    assert SECRET not in str(raised.value.fields) and SECRET not in raised.value.message
    assert SECRET not in caplog.text


def test_the_sign_in_form_takes_a_blank_field_as_missing(app):
    with app.test_request_context():
        fields = refused(Credentials.from_form, {"username": "  ", "password": "   "})
        assert fields == {"username": ["Hãy nhập tên đăng nhập."], "password": ["Hãy nhập mật khẩu."]}
        assert Credentials.from_form({"username": "lan", "password": " x "}).totp is None


def test_the_password_change_asks_for_the_code_only_once_enrolled(app):
    body = {"current_password": SECRET, "new_password": SECRET + "!"}
    with app.test_request_context():
        assert PasswordChangeApi.from_json(body).totp is None
        assert refused(EnrolledPasswordChangeApi.from_json, body) == {"totp": [REQUIRED_VI]}
        assert refused(PasswordChange.from_form, {"new_password": "x"}) == {
            "current_password": ["Hãy nhập mật khẩu hiện tại."]}


def test_an_account_change_names_only_the_fields_it_changes(app):
    with app.test_request_context():
        values, errors = AccountChangeRequest.read({"scope": None, "addresses": ["b", "a", "b"]})
        assert (values, errors) == ({"scope": None, "addresses": ["a", "b"]}, {})
        values, errors = AccountChangeRequest.read({"role": None, "scope": "123456", "organisation_id": 7,
                                                    "addresses": "a", "can_override_consent": "yes",
                                                    "username": "x"})
        assert values == {}
        assert errors == {"username": ["Không thể thay đổi mục này ở đây."],
                          "role": ["Hãy chọn một vai trò trong danh sách."], "scope": ["Tối đa 5 ký tự."],
                          "organisation_id": ["Tối đa 22 ký tự."], "addresses": ["Một danh sách mã địa chỉ tin cậy."],
                          "can_override_consent": ["true hoặc false."]}
        assert AccountChangeRequest.read({})[1] == {"role": ["Hãy nêu ít nhất một mục cần thay đổi."]}
    assert tuple(AccountChangeRequest.model_fields) == changes.CHANGE_FIELDS


def test_an_account_reads_the_same_from_the_screen(app):
    with app.test_request_context():
        account = NewAccount.from_form({"username": " canbo-xa ", "role": "host", "addresses": ["a2", "a1", "a2"],
                                        "can_override_consent": "y", "password": ""})
        assert (account.username, account.addresses, account.password) == ("canbo-xa", ("a2", "a1"), None)
        assert account.can_override_consent is True
        fields = refused(NewAccount.from_form, {"username": "x" * 65, "role": "king", "display_name": "d" * 121})
    assert fields == {"username": ["Tối đa 64 ký tự."], "role": ["Hãy chọn một vai trò trong danh sách."],
                      "display_name": ["Tối đa 120 ký tự."]}


def test_the_openapi_request_bodies_come_from_the_schemas(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    def body(path, method):
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]

    assert body("/api/v1/auth/token", "post") == openapi30(TokenRequest.openapi())
    assert body("/api/v1/auth/token", "post")["properties"]["totp"] == {"type": "string", "minLength": 1,
                                                                        "maxLength": 32}
    assert body("/api/v1/account/password", "post") == openapi30(EnrolledPasswordChangeApi.openapi())
    change = body("/api/v1/users/{user_id}", "patch")
    assert change == openapi30(AccountChangeRequest.openapi()) and change["additionalProperties"] is False
    assert change["properties"]["scope"] == {"type": "string", "nullable": True, "maxLength": 5}


def test_the_screens_keep_the_browser_hints_the_schemas_declare(client):
    page = client.get("/login").get_data(as_text=True)
    username = page[page.index('name="username"') - 200:page.index('name="username"') + 200]
    assert "required" in username and 'maxlength="256"' in username
    totp = page[page.index('name="totp"') - 200:page.index('name="totp"') + 200]
    assert 'maxlength="32"' in totp and "required" not in totp


def test_a_refused_sign_in_or_token_never_shows_the_password(client, make_user):
    account = make_user("auditor")
    long_secret = SECRET * 4001  # over 100,000 characters: refused on its length
    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": long_secret,
                                                       "totp": "123456"})
    assert response.status_code == 422 and SECRET not in response.get_data(as_text=True)
    response = client.post("/api/v1/auth/token", json={"username": account.username, "password": SECRET,
                                                       "totp": "123456"})
    assert response.status_code == 401 and SECRET not in response.get_data(as_text=True)
    response = client.post("/login", data={"username": account.username, "password": SECRET, "totp": ""})
    assert response.status_code == 401 and SECRET not in response.get_data(as_text=True)


def test_the_account_screen_reads_its_fields_through_the_schema(client, make_user, login):
    login(client, make_user("admin"))
    response = client.post("/admin/users/new", data={"username": "canbo", "role": "king", "display_name": "d" * 121,
                                                     "password": "mot cau mat khau ban dau"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tối đa 120 ký tự." in page and "Hãy chọn một vai trò trong danh sách." in page
