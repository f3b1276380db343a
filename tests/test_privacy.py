"""bot.privacy: personal data never reaches logs unmasked, and ordinary words are never touched.

The regression table runs both ways: every personal-data form below is masked (the exact output is
pinned, so a rule that starts eating the words around a number fails), and every one of the ordinary
sentences in tests/privacy/ordinary_sentences.txt comes back unchanged.
"""

from pathlib import Path

import pytest

from bot.privacy import contains_personal_data, fold, is_valid_id_card, mask, mask_contact

ORDINARY = Path(__file__).parent / "privacy" / "ordinary_sentences.txt"


def ordinary_sentences() -> list[str]:
    lines = ORDINARY.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


# (what the person typed, what logs and default staff views show)
MASKED_FORMS = [
    # ID numbers: plain, spaced, hyphenated, full-width, check digit wrong
    ("身份证11010519491231002X", "身份证110***********002X"),
    ("身份证110105 19491231 002X", "身份证110***********002X"),
    ("身份证号 110105-19491231-002X 谢谢", "身份证号 110***********002X 谢谢"),
    ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证110***********002X"),
    ("身份证号码是110105194912310021", "身份证号码是[证件号]"),
    ("ID 1101 0519 4912 3100 2X", "ID 110***********002X"),
    # mobiles: plain, +86, spaced, hyphenated, full-width, inside Chinese words
    ("电话13812345678谢谢", "电话138****5678谢谢"),
    ("手机１３８１２３４５６７８", "手机138****5678"),
    ("手机1381 2345 678", "手机138****5678"),
    ("打138-1234-5678找我", "打138****5678找我"),
    ("+86 138 1234 5678", "138****5678"),
    ("86-13812345678", "138****5678"),
    ("(+86)13912345678", "139****5678"),
    ("我的号码是 139 1234 5678 ，白天打", "我的号码是 139****5678 ，白天打"),
    ("Call me at 15912345678 please", "Call me at 159****5678 please"),
    # landlines
    ("座机010-62345678", "座机[电话]"),
    ("(010)62345678", "[电话]"),
    ("（010）62345678", "[电话]"),
    ("电话：010 6234 5678", "电话：[电话]"),
    ("座机 62345678", "座机 [电话]"),
    ("座机号码是6234 5678，晚上打", "座机号码是[电话]，晚上打"),
    ("单位电话0731-8888 6666转801", "单位电话[电话]"),
    ("固话0755-1234567", "固话[电话]"),
    ("tel: 6234-5678", "tel: [电话]"),
    ("电话：0731-84567890", "电话：[电话]"),
    ("联系我 021 6234 5678", "联系我 [电话]"),
    # e-mail: masked without eating the words around it
    ("邮箱是abc@qq.com谢谢", "邮箱是[邮箱]谢谢"),
    ("发到zhang.san+hotline@example.com.cn就行", "发到[邮箱]就行"),
    ("my email is tom_lee@mail.example.org.", "my email is [邮箱]."),
    ("邮箱：１２３４５６＠ｑｑ．ｃｏｍ", "邮箱：[邮箱]"),
    # bank cards
    ("卡号6222021234567890123", "卡号[卡号]"),
    ("卡号 6222 0212 3456 7890 123 谢谢", "卡号 [卡号] 谢谢"),
    # QQ and WeChat
    ("QQ 123456789", "QQ [QQ号]"),
    ("我的qq号是12345678，加我", "我的qq号是[QQ号]，加我"),
    ("扣扣：876543210", "扣扣：[QQ号]"),
    ("ＱＱ号１２３４５６７", "ＱＱ号[QQ号]"),
    ("微信号是zhang_san88", "微信号是[微信号]"),
    ("加我微信abc123吧", "加我微信[微信号]吧"),
    ("微信：wxid_k2l9m8", "微信：[微信号]"),
    ("wx: abc123", "wx: [微信号]"),
    ("vx lily-2008", "vx [微信号]"),
    ("My WeChat is tom_2009", "My WeChat is [微信号]"),
    ("My WeChat ID: lilyzhang", "My WeChat ID: [微信号]"),
    ("微信13812345678", "微信138****5678"),
    # licence plates
    ("京A12345", "[车牌]"),
    ("车牌号是粤B·D12345的车一直占道", "车牌号是[车牌]的车一直占道"),
    ("湘A 8K6N2 每天停在消防通道", "[车牌] 每天停在消防通道"),
    ("沪c12345挂", "[车牌]"),
    ("苏E-6Z123撞了人就跑", "[车牌]撞了人就跑"),
    ("车停在鄂A·5B7C9旁边", "车停在[车牌]旁边"),
    # street addresses and door numbers
    ("住在人民路123号", "住在人民路[门牌]"),
    ("人民路12号3栋501", "人民路[门牌]"),
    ("南京东路88弄5号楼下", "南京东路[门牌]楼下"),
    ("长安街1號", "长安街[门牌]"),
    ("地址：解放西路218号3栋2单元", "地址：解放西路[门牌]"),
    ("第3栋和第5栋之间的路灯不亮", "第[门牌]和第[门牌]之间的路灯不亮"),
    ("幸福巷7号的院子", "幸福巷[门牌]的院子"),
    ("建设大道1024号", "建设大道[门牌]"),
    ("住3栋2单元501室", "住[门牌]"),
    ("住在幸福小区3栋2单元501。楼下", "住在幸福小区[门牌]。楼下"),
    ("12号楼1402的邻居", "[门牌]的邻居"),
    ("我家是3-2-501", "我家是[门牌]"),
    ("1402室的人半夜唱歌", "[门牌]的人半夜唱歌"),
    ("８栋３单元", "[门牌]"),
    # school with grade or class
    ("实验中学初二3班", "[学校班级]"),
    ("我在实验中学初二3班读书", "我在[学校班级]读书"),
    ("育才小学五年级2班的学生", "[学校班级]的学生"),
    ("我是第一中学高三的", "我是[学校班级]的"),
    ("明德學校初一5班", "[学校班级]"),
    # self-given names, with and without punctuation after them
    ("我叫王小明，", "我叫王**，"),
    ("我叫张三今年15岁", "我叫张*今年15岁"),
    ("我叫李娜在读高一", "我叫李*在读高一"),
    ("我的名字是陈思远", "我的名字是陈**"),
    ("姓名：刘洋", "姓名：刘*"),
    ("我是王小明的妈妈", "我是王**的妈妈"),
    ("我叫阿明2020年来的", "我叫阿*2020年来的"),
    ("我叫欧阳娜娜", "我叫欧阳**"),
    ("my name is John Smith", "my name is J***"),
    ("Hi, my name is Lily and I need help", "Hi, my name is L*** and I need help"),
    # third-party names after a relation word
    ("我儿子王小明被打了", "我儿子王**被打了"),
    ("我儿子王小明", "我儿子王**"),
    ("我女儿叫刘一菲，今年12岁", "我女儿叫刘**，今年12岁"),
    ("我妈陈秀英身体不好", "我妈陈**身体不好"),
    ("我同学张伟被打了", "我同学张*被打了"),
    ("班主任赵建国经常骂人", "班主任赵**经常骂人"),
    ("我同桌林小雨老是抄我作业", "我同桌林**老是抄我作业"),
    ("我老公周强在外面欠了钱", "我老公周*在外面欠了钱"),
    ("我兒子黃志明在學校被欺負", "我兒子黃**在學校被欺負"),
    # several at once, the words between them kept
    (
        "我叫张三，电话1381 2345 678，住人民路123号，车牌京A12345",
        "我叫张*，电话138****5678，住人民路[门牌]，车牌[车牌]",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MASKED_FORMS)
def test_every_personal_data_form_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected
    assert contains_personal_data(text)


def test_the_ordinary_set_has_at_least_200_sentences_of_both_desks_and_three_languages() -> None:
    sentences = ordinary_sentences()
    assert len(sentences) >= 200
    assert any("12355" in s for s in sentences) and any("12345-2024" in s for s in sentences)
    assert any(s.isascii() for s in sentences) and any("請問" in s for s in sentences)


def test_no_ordinary_sentence_is_changed() -> None:
    changed = [(s, mask(s)) for s in ordinary_sentences() if mask(s) != s]
    assert changed == []


@pytest.mark.parametrize(
    "text",
    [
        "12345",
        "12355",
        "110",
        "工单12345-20240315-0007",
        "12355-20241231-12345",
        "2024年3月15日",
        "2024-03-15 14:30",
        "3000元",
        "¥1,280.50",
        "3楼",
        "快速公交3路",
        "3室1厅",
        "修路3号开始",
        "实验中学",
        "李老师",
        "全新Ａ４纸",
        "XX路的路灯坏了三天了",
    ],
)
def test_numbers_and_words_that_only_look_personal_stay(text: str) -> None:
    assert mask(text) == text
    assert not contains_personal_data(text)


def test_a_phone_number_in_chinese_numerals_is_masked_and_the_words_around_it_stay() -> None:
    assert mask("电话是幺三九 零六二幺 五五八七 晚上打") == "电话是139****5587 晚上打"
    assert mask("我住三楼 一两个月了 十一二点还在吵") == "我住三楼 一两个月了 十一二点还在吵"


def test_full_width_text_around_a_match_stays_as_written() -> None:
    assert (
        mask("ＱＱ群里有人说：电话１３８１２３４５６７８，　明天见！") == "ＱＱ群里有人说：电话138****5678，　明天见！"
    )
    assert fold("１３８（０１０）＠") == "138(010)@"
    assert len(fold("１２３　ａｂｃ")) == len("１２３　ａｂｃ")


def test_valid_id_card_check_digit() -> None:
    assert is_valid_id_card("11010519491231002X")
    assert not is_valid_id_card("110105194912310021")


def test_id_card_keeps_only_region_and_check_digits() -> None:
    masked = mask("身份证11010519491231002X")
    assert "19491231" not in masked
    assert masked.endswith("002X")


def test_id_shaped_number_with_wrong_check_is_still_hidden() -> None:
    assert "194912310" not in mask("110105194912310021")


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "86-13812345678", "1381 2345 678"])
def test_mobile_numbers_are_masked(phone: str) -> None:
    masked = mask(f"电话{phone}谢谢")
    assert "1234" not in masked.replace("5678", "")
    assert masked == "电话138****5678谢谢"


def test_plain_request_is_untouched() -> None:
    request = "XX路的路灯坏了三天了"
    assert mask(request) == request
    assert not contains_personal_data(request)
    assert contains_personal_data("我的手机13812345678")


@pytest.mark.parametrize(
    ("kind", "value", "shown"),
    [
        ("phone", "13812345678", "138****5678"),
        ("phone", "138 1234 5678", "138****5678"),
        ("phone", "１３８１２３４５６７８", "138****5678"),
        ("phone", "010-62345678", "010****5678"),
        ("email", "zhangsan@example.cn", "z***@example.cn"),
        ("phone", "12345", "*****"),
        ("other", "telegram_user_42", "te***42"),
    ],
)
def test_one_mask_contact_for_staff_lists_and_the_persons_summary(kind: str, value: str, shown: str) -> None:
    assert mask_contact(kind, value) == shown


def test_there_is_one_mask_contact() -> None:
    root = Path(__file__).resolve().parents[1]
    defined = [
        str(path.relative_to(root))
        for folder in ("bot", "actions", "tools")
        for path in (root / folder).rglob("*.py")
        if "def mask_contact(" in path.read_text(encoding="utf-8")
    ]
    assert defined == ["bot/privacy.py"]
