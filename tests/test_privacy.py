"""bot.privacy: personal data never reaches logs unmasked."""

import pytest

from bot.privacy import contains_personal_data, is_valid_id_card, mask


def test_valid_id_card_check_digit() -> None:
    assert is_valid_id_card("11010519491231002X")
    assert not is_valid_id_card("110105194912310021")


def test_id_card_keeps_only_region_and_check_digits() -> None:
    masked = mask("身份证11010519491231002X")
    assert "19491231" not in masked
    assert masked.endswith("002X")


def test_id_shaped_number_with_wrong_check_is_still_hidden() -> None:
    assert "194912310" not in mask("110105194912310021")


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "86-13812345678"])
def test_mobile_numbers_are_masked(phone: str) -> None:
    masked = mask(f"电话{phone}谢谢")
    assert "1234" not in masked.replace("5678", "")
    assert "138****5678" in masked


def test_email_bank_card_landline_and_door_number() -> None:
    masked = mask("邮箱 ab.c@qq.com 卡号 6222 0212 3456 7890 123 座机 010-12345678 住3栋2单元501室")
    for secret in ("ab.c@qq.com", "6222 0212", "12345678", "501"):
        assert secret not in masked


def test_a_room_number_without_its_unit_word_is_masked_too() -> None:
    assert mask("住在幸福小区3栋2单元501。楼下") == "住在幸福小区[门牌]。楼下"
    assert mask("12号楼1402的邻居") == "[门牌]的邻居"


def test_self_given_name_is_masked_but_roles_are_not() -> None:
    assert mask("我叫王小明，") == "我叫王**，"
    assert mask("我是学生") == "我是学生"


def test_plain_request_is_untouched() -> None:
    request = "XX路的路灯坏了三天了"
    assert mask(request) == request
    assert not contains_personal_data(request)
    assert contains_personal_data("我的手机13812345678")
