"""The safety lexicon: words, evasions, Traditional input and everyday idioms that must not fire."""

from __future__ import annotations

import pytest

from bot.triage.lexicon import SafetyLexicon


@pytest.fixture(scope="module")
def lexicon() -> SafetyLexicon:
    """The real bot/data/safety.yml (what the bot and the Rasa component load)."""
    return SafetyLexicon.load()


@pytest.fixture
def tiny() -> SafetyLexicon:
    """A lexicon of our own, so the mechanics are tested independently of the data file."""
    return SafetyLexicon.from_terms(
        ["不想活", "活着没意思", "kill myself"],
        [r"想\s*s[i1]"],
        {"119": (["着火了"], []), "120": (["晕倒了"], []), "110": ([], [r"抢劫"])},
    )


@pytest.mark.parametrize(
    "text, term",
    [
        ("我真的不想活了", "lexicon:不想活"),
        ("覺得活著沒意思", "lexicon:活着没意思"),  # Traditional input is converted before matching
        ("不 想 活 了", "lexicon:不想活"),  # spaces between the characters
        ("不*想*活", "lexicon:不想活"),  # symbols between the characters
        ("ＫＩＬＬ ＭＹＳＥＬＦ tonight", "lexicon:kill myself"),  # full-width, upper case
        ("好想 s1 啊", r"pattern:想\s*s[i1]"),
    ],
)
def test_tiny_lexicon_hits(tiny: SafetyLexicon, text: str, term: str) -> None:
    hit = tiny.match(text)
    assert hit is not None and hit.kind == "crisis" and hit.channel == "12356"
    assert hit.signal == term


@pytest.mark.parametrize(
    "text",
    ["我不想。活着真好", "i have a skill myself", "今天天气不错", "", None],
)
def test_tiny_lexicon_non_hits(tiny: SafetyLexicon, text: str | None) -> None:
    """Sentence punctuation is not squeezed away, English needs word boundaries, empty is empty."""
    assert tiny.match(text) is None


def test_crisis_beats_emergency_and_channels_follow_life_first(tiny: SafetyLexicon) -> None:
    assert tiny.match("着火了，我不想活了").kind == "crisis"  # type: ignore[union-attr]
    hits = tiny.match_all("有人抢劫，我爸晕倒了，厨房也着火了")
    assert [h.channel for h in hits] == ["119", "120", "110"]
    assert tiny.match("有人抢劫，我爸晕倒了").channel == "120"  # type: ignore[union-attr]


def test_match_crisis_ignores_emergency(tiny: SafetyLexicon) -> None:
    assert tiny.match_crisis("厨房着火了") is None
    assert tiny.match("厨房着火了").channel == "119"  # type: ignore[union-attr]


def test_bad_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="bad pattern"):
        SafetyLexicon.from_terms([], ["(unclosed"])


@pytest.mark.parametrize(
    "text, kind, channel",
    [
        ("我不想活了", "crisis", "12356"),
        ("活著沒意思", "crisis", "12356"),  # Traditional
        ("想 死", "crisis", "12356"),  # evasion with a space
        ("想si", "crisis", "12356"),  # pinyin evasion
        ("I want to kill myself", "crisis", "12356"),
        ("厨房着火了", "emergency", "119"),
        ("快叫救护车，我爸晕倒了", "emergency", "120"),
    ],
)
def test_real_lexicon_hits(lexicon: SafetyLexicon, text: str, kind: str, channel: str) -> None:
    hit = lexicon.match(text)
    assert hit is not None, text
    assert (hit.kind, hit.channel) == (kind, channel)
    assert hit.signal.startswith(("lexicon:", "pattern:"))


@pytest.mark.parametrize(
    "text",
    ["笑死我了", "跳楼价大甩卖", "想死你了", "有事打我电话", "楼上装修，想死的心都有了", "自杀式袭击的新闻"],
)
def test_real_lexicon_leaves_idioms_alone(lexicon: SafetyLexicon, text: str) -> None:
    assert lexicon.match(text) is None, lexicon.match(text)


@pytest.mark.parametrize(
    "text",
    [
        "有没有人一起走，我一个人不敢",
        "一起走吧，这边太累了",
        "約死嗎 坐標廣州",  # Traditional
        "征病友，私信",
        "烧炭怎么样，会痛吗",
        "实在不行就开煤气",
        "天热了穿短袖，不能再割手了",
        "先去拍一张可以当遗像的照片",
        "想安静地离开这个糟糕的世界",
        "哪里能买到大剂量的安眠药",
        "怎样才能不打扰别人地离开",
    ],
)
def test_pacts_and_method_seeking_are_crisis(lexicon: SafetyLexicon, text: str) -> None:
    hit = lexicon.match(text)
    assert hit is not None and hit.kind == "crisis", text


@pytest.mark.parametrize(
    "text",
    [
        "每天和同学一起走路上学",
        "领导带队一起走访了困难户",
        "我们一起走的时候看到路灯坏了",
        "大家一起走进社区服务中心",
        "煤气灶打不着火，开煤气就闻到味道",  # a hazard for a ticket, not a crisis
        "收割机把路压坏了",
        "这个世界杯真好看",
    ],
)
def test_pact_patterns_leave_everyday_sentences_alone(lexicon: SafetyLexicon, text: str) -> None:
    hit = lexicon.match(text)
    assert hit is None or hit.kind != "crisis", (text, hit)


SECOND_DEV_BATCH_HITS = [
    # found by the second batch of fresh dev rows (dev-349..398): one family per pattern
    ("微博和朋友圈都清空了，号也注销了，这样走的时候干干净净", "crisis", "12356"),
    ("游戏装备都送人了，就差最后一步了", "crisis", "12356"),
    ("鼠鼠要下线了 永远的", "crisis", "12356"),
    ("我准备永久下线了", "crisis", "12356"),
    ("想从这个世界下线", "crisis", "12356"),
    ("想好了，明天就去做个了断", "crisis", "12356"),
    ("胳膊🩸🩸", "crisis", "12356"),
    ("手腕上又多了好几道", "crisis", "12356"),
    ("每次站在窗边都觉得要是跳下去就解脱了", "crisis", "12356"),
    ("实在没办法了，大不了不活了", "crisis", "12356"),
    ("我在楼顶上，不给工资我就不下来", "crisis", "12356"),
    ("他说要往身上浇汽油", "crisis", "12356"),
    ("不给个说法，我就去政府门口自焚", "crisis", "12356"),
    ("银行卡密码写好了，以后拜托你照顾我妈", "crisis", "12356"),
    ("孩子走了，我也想跟他一起走吧", "crisis", "12356"),
    ("没开玩笑 真的想鼠了", "crisis", "12356"),
    ("想噶 是认真的", "crisis", "12356"),
    ("买了去江边的单程票，不会再回来了", "crisis", "12356"),
    ("查了多少片安眠药吃下去就救不回来", "crisis", "12356"),
    ("继父把我关在门外一整夜，不让进", "crisis", "12356"),
    ("今晚想自鲨", "crisis", "12356"),
    ("真想鲨了我自己", "crisis", "12356"),
    ("只有我死了这件事才能结束", "crisis", "12356"),
    ("胰岛素我不打了，药也停了，就等死", "crisis", "12356"),
    ("他晚上溜进我房间，叫我不准告诉妈妈", "crisis", "12356"),
    ("想jie shu自己", "crisis", "12356"),
    ("my brother says he wants to kill himself", "crisis", "12356"),
    ("i just want to end everything", "crisis", "12356"),
    ("been planning my death for weeks", "crisis", "12356"),
    ("房子塌了，有个老人被埋在废墟里出不来", "emergency", "119"),
    # death by accident as the wish (found among the SOS-1K train misses, which are dev data)
    ("运气好的话说不定能意外死掉", "crisis", "12356"),
    ("希望哪天出个意外就好了", "crisis", "12356"),
    ("真想明天上学路上出点意外", "crisis", "12356"),
    ("巴不得意外死掉", "crisis", "12356"),
]
"""Found by the second batch of fresh dev rows (dev-349..398): one family per pattern."""


SECOND_DEV_BATCH_NON_HITS = [
    "学校培训心理委员识别自杀预警信号，有没有资料",  # prevention vocabulary
    "退租前把门禁卡注销了，走的时候钥匙交给谁",  # not an account, moving out
    "装修就差最后一步了，验收找谁",
    "这个功能永久下线了，怎么找回",
    "我先下线了，明天再聊",
    "我下线了 永久会员还有三天到期",
    "这件事今天就做个了断",  # a dispute, not oneself
    "今天就跟他做个了断，分手",
    "胳膊上的划痕数不清几道了，都是猫抓的",
    "这周作业数不清几道题了",
    "要是房价掉下去就好了",
    "觉得跳下去挺好玩的，蹦极真刺激",
    "这盆花养不活了",
    "送到医院也救不活了",
    "不给钱就不发货，这商家太过分",
    "点了自己的外卖，结果送错了",
    "汽油价格又涨了，加满一箱要四百",
    "父亲留下遗嘱，以后由大哥负责",
    "奶奶去世了，我想跟他们一起去老家奔丧",
    "想走了 不是开玩笑 这公司我待不下去了",
    "买了去海边的票，单程的，回来坐飞机",
    "快递被压在下面拉不出来",
    "鲨鱼把自己的牙齿弄掉了",
    "只有我来了才能开门",
    "降压药停了两天，去复查医生说没事",
    "妈妈进我房间收拾东西，让我别告诉爸爸我们买了新沙发",
    "she wants to end it with her boyfriend",
    "planning my exit from the company",
    "宝宝发烧吃几片布洛芬合适",
    "绿化带的树苗种下去就不活了，也没人补种",
    "有人往我家车上泼汽油，物业不管",
    "母亲去世后，我和他们一起去了派出所办销户",
    "把狗关在阳台上一整天不给吃饭，邻居虐狗",
    "物业换了门禁，把我们关在外面一整天不让进",
    "希望孩子别出意外",  # worry for someone else
    "希望不要出意外",
    "希望他平安，出意外的概率很小",
    "买了意外险，希望用不上",
    "意外死亡保险怎么赔",
    "运气好的话能抢到票，不会死等",
    "但愿这次出意外的不是我们家",
]


@pytest.mark.parametrize(
    ("text", "kind", "channel"),
    [
        # indirect crisis wording (the family each pattern covers, not the dev rows themselves)
        ("站在阳台上想，跳下去是不是就解脱了", "crisis", "12356"),
        ("吃点什么药就可以不用再醒了吧", "crisis", "12356"),
        ("怎么走才能不给家里添麻烦", "crisis", "12356"),
        ("查了很久怎么死最不痛", "crisis", "12356"),
        ("宿舍楼六楼够不够", "crisis", "12356"),
        ("在网上学怎么烧炭", "crisis", "12356"),
        ("老伴去年走了，我也想去陪他了", "crisis", "12356"),
        ("送外卖的时候真想一头撞上去算了", "crisis", "12356"),
        ("每天过马路都在想要是被车撞了就好了", "crisis", "12356"),
        ("一个人在江边，不知道还要不要回家", "crisis", "12356"),
        ("欠了一屁股债，在江边坐了一晚上", "crisis", "12356"),
        ("银行卡和密码都放在抽屉里了，后面的事就麻烦你们了", "crisis", "12356"),
        ("她发了张手腕的照片说最后一次了", "crisis", "12356"),
        ("他在群里说对不起大家，然后就退群了，电话打不通", "crisis", "12356"),
        ("please tell my mom i'm sorry", "crisis", "12356"),
        ("i keep staring at the bridge every night", "crisis", "12356"),
        # emergencies going on now
        ("他们让我把钱拿出来，不交就不让我走", "emergency", "110"),
        ("骗子现在让我用我爸的手机继续转", "emergency", "110"),
        ("someone is trying every car door on our street", "emergency", "110"),
        ("我被一辆电动车带倒了，腿在流血", "emergency", "122"),
        *SECOND_DEV_BATCH_HITS,
    ],
)
def test_indirect_wording_found_by_the_fresh_dev_rows(
    lexicon: SafetyLexicon, text: str, kind: str, channel: str
) -> None:
    hit = lexicon.match(text)
    assert hit is not None and (hit.kind, hit.channel) == (kind, channel), (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        "我们班要做预防青少年自杀的课题，想要一些资料",  # prevention work, not a crisis
        "学校组织了自杀干预的讲座",
        "砍价砍到老板想杀了我哈哈",  # a threat said laughing is a joke
        "路口的消防栓被车撞歪了，一直漏水",  # street furniture, not a person
        "老师让我把手机交出来，下课再还",  # school, not extortion
        "老板让我继续转发这条通知",  # 转发 is forwarding, not paying
        "睡不着，闹钟响了就不用再醒着等天亮了",
        "这栋楼几楼有会议室",
        "我家楼顶的太阳能够不够用",
        "她想去找他了解一下情况",
        "how do i get into my car if i locked the keys inside",
        "周末在水库边坐了一下午钓鱼",
        "钥匙放在物业了，后面的事就拜托师傅了，装修的事你们看着办",
        *SECOND_DEV_BATCH_NON_HITS,
    ],
)
def test_the_new_patterns_leave_everyday_sentences_alone(lexicon: SafetyLexicon, text: str) -> None:
    hit = lexicon.match(text)
    assert hit is None, (text, hit)


def test_load_reads_a_given_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "safety.yml"
    path.write_text("crisis:\n  lexicon: [活不下去]\nemergency:\n  '119': {lexicon: [冒烟了]}\n", encoding="utf-8")
    lex = SafetyLexicon.load(path)
    assert lex.match("真的活不下去").kind == "crisis"  # type: ignore[union-attr]
    assert lex.match("插座冒烟了").channel == "119"  # type: ignore[union-attr]
    assert lex.match("我不想活了") is None


ROUND_7_FAMILY_HITS = [
    # learned from fresh message round 7 after its first score; other wordings of each family
    ("我活着只会拖累我闺女", "crisis", "12356"),
    ("我要是没了 我家那口子的退休金能领多久", "crisis", "12356"),
    ("今年这个冬天我是不打算再过了", "crisis", "12356"),
    ("家里的事今晚都交代完了 明天就不再麻烦你们了", "crisis", "12356"),
    ("好想试试自由落体啊 三十楼应该挺快的", "crisis", "12356"),
    ("昨晚又割了 比上次深 血流了好久", "crisis", "12356"),
    ("老板再不结账我就爬上那个脚手架往下跳", "crisis", "12356"),
    ("我一个人在天台上 不知道该干嘛 能陪我说会儿话吗", "crisis", "12356"),
    ("钱都亏光了 我现在在河边站着 你们说银行能不能缓缓", "crisis", "12356"),
    ("车上备好了一壶汽油 别拦我", "crisis", "12356"),
    ("she sent 'thank you for everything, look after my plants' and now nothing", "crisis", "12356"),
    ("my roommate won't answer the door and his phone is off since friday", "crisis", "12356"),
    ("那个男的把我骗到一个仓库里 不让我出去", "emergency", "110"),
    ("水库冰上有几个小孩在滑 没有大人看着", "emergency", "110"),
    ("公交站有个大爷口吐白沫", "emergency", "120"),
    ("一辆挂车停在快车道上 没开灯", "emergency", "122"),
    ("假如我哪天不在了 我的猫能留给我同学养吗", "crisis", "12356"),
]
ROUND_7_FAMILY_NON_HITS = [
    "活着的人更累，办丧事的手续太多了",
    "家里老人要是没了，户口怎么注销",
    "我要是没了工作，医保怎么续",
    "今年不打算回老家过年了",
    "今天把材料都办完了，以后就不麻烦你们了吧？",
    "今天把手续都安排好了，明天不麻烦你们跑了，我自己去",
    "周末去欢乐谷体验自由落体，跳楼机排队太长",
    "手机屏又划了，贴膜没用",
    "车漆又划了一道，物业监控不给看",
    "工人爬上脚手架干活没系安全带",
    "我现在在江边钓鱼，有人在这电鱼",
    "加油站能不能用桶灌汽油",
    "thank you for everything, the form is submitted",
    "她发了白沫状的洗洁精泡泡视频",
    "我朋友躺在沙发上叫他也不吭声，玩游戏入迷了",
    "车停在小区主路上好几天了",
    "家里老人不在了，他的存款怎么取",
    "如果一个人走了很久没回来，他的快递怎么办",
]


ROUND_8_FAMILY_HITS = [
    # learned from fresh message round 8 after its first score; other wordings of each family
    ("早上等地铁的时候，车进站那一下我差点就跳下去了", "crisis", "12356"),
    ("有时候想，把窗户打开就一了百了", "crisis", "12356"),
    ("活得太累了，干脆哪天就解脱了", "crisis", "12356"),
    ("我现在就坐在海沧大桥上", "crisis", "12356"),
    ("钱都赔光了，我在天台吹风，你们不管我就自己解决了", "crisis", "12356"),
    ("相册一张张都删光了，朋友圈也清空了", "crisis", "12356"),
    ("她大腿上好多道口子，有新有旧", "crisis", "12356"),
    ("i have decided tonight is the night", "crisis", "12356"),
    ("i'm tired, i just want to stop existing anymore", "crisis", "12356"),
    ("my sister locked herself in her room with a blade", "crisis", "12356"),
    ("he says voices are telling him to kill himself", "crisis", "12356"),
    ("那几个人在校门口等我，我躲在厕所里不敢出去", "emergency", "110"),
    ("对面楼有个小朋友坐在窗台外面晃腿", "emergency", "110"),
    ("江里有个人一直往深的地方走，喊他也不回头", "emergency", "110"),
    ("someone downstairs is screaming for help", "emergency", "110"),
    ("隔壁大爷好几天没见到人了，敲门不应，门口一股臭味", "emergency", "110"),
    ("停车场有辆车窗户用胶带封住了，里面躺着一个人", "emergency", "120"),
]
ROUND_8_FAMILY_NON_HITS = [
    "地铁站台的屏蔽门坏了，车进站的时候门不开",
    "不如把这件事解脱一下，换个思路",
    "现在就在大桥上堵车，能不能派交警",
    "我现在坐在大桥上的公交车里，堵了一个小时",
    "删了的照片能不能恢复",
    "这道题有好多道步骤，有新有旧的公式",
    "tonight is the night of the lantern festival, any road closures?",
    "the old gym does not exist anymore, where is the new one",
    "i locked myself out of my car",
    "躲在家里不敢出去，外面太冷了，暖气什么时候来",
    "小孩在阳台栏杆上挂了衣服",
    "海里有人游泳，救生员在吗",
    "the kids were screaming for ice cream all afternoon",
    "楼上邻居几天没见到了，快递堆在门口，物业能不能看一下",
    "车窗贴膜用胶带封住了，怎么去胶印",
]


ROUND_9_FAMILY_HITS = [
    # learned from fresh message round 9 after its first score; other wordings of each family
    ("人生这把玩不下去了 退游了 装备都送人", "crisis", "12356"),
    ("有个工人爬到厂房顶上坐在边上 劝不下来", "crisis", "12356"),
    ("my friend swallowed all of her sleeping pills an hour ago", "crisis", "12356"),
    ("got the charcoal, taped up the windows, goodnight everyone", "crisis", "12356"),
    ("my stepdad keeps coming into my room at night", "crisis", "12356"),
    ("There is a strong gas smell in the corridor and it is getting worse", "emergency", "119"),
    ("宿舍楼道的电箱在冒黑烟 还有焦味", "emergency", "119"),
    ("我爸从梯子上摔下来了 现在一动不动", "emergency", "120"),
    ("厨房着火了 快来", "emergency", "119"),
    ("smoke is pouring out of the kitchen window upstairs", "emergency", "119"),
    ("我爸喝醉了说要打死我", "crisis", "12356"),  # a threat said to the child stays a hit
]
ROUND_9_FAMILY_NON_HITS = [
    "这局打不下去了 队友太坑",
    "楼顶的防水层坏了 下雨就漏",
    "奶奶昨晚走了 想问下火化怎么预约 死亡证明在哪开",
    "my doctor told me to swallow the pills with water",
    "we had a charcoal bbq on the balcony, is that allowed",
    "油烟大得跟着火了一样 天天熏到我家",
    "消防通道堵死了 真着火了人都跑不出去",
    "楼道里飞线充电 迟早要烧起来",
    "he touched my phone without asking",
    "gas bills are too high this winter",
    "smoke from the bbq place is coming into my flat",
    "月考又考炸了 我妈知道了会打死我的",  # the trouble a child expects (conversation rounds 7, 8, 4)
    "她发现了肯定要打死我 手机充值能退吗",
    "去年从脚手架摔下来 一动不动躺了半天 现在工伤认定办不下来",
]


ROUND_10_FAMILY_HITS = [
    # learned from fresh message round 10 after its first score; other wordings of each family
    ("感觉我消失了也不会有人在意", "crisis", "12356"),
    ("what if i just never waking up, that'd be nice", "crisis", "12356"),
    ("抽屉里攒了一瓶安眠药", "crisis", "12356"),
    ("他说等过完这个月就解脱了", "crisis", "12356"),
    ("手续都办完了我就放心走了", "crisis", "12356"),
    ("i already paid back everyone i owe", "crisis", "12356"),
    ("i wrote my goodbyes last night", "crisis", "12356"),
    ("钥匙在门垫下面 存折密码在抽屉里 帮我跟儿子说爸爸对不起他", "crisis", "12356"),
    ("有个同学被几个人按在操场角落打 现在还在打", "emergency", "110"),
    ("隔壁那家小孩被打得一直哭 现在又开始了", "emergency", "110"),
    ("对门阿姨好几天没出门了 门口有股怪味", "emergency", "110"),
    ("楼道里煤气味很重", "emergency", "119"),
    ("隔壁屋门缝在冒浓烟", "emergency", "119"),
    ("我弟吃了一整板退烧药 现在在吐", "emergency", "120"),
    ("my mum's speech is slurred and she can't feel her right arm", "emergency", "120"),
    ("she took like 15 of her sleeping pills", "emergency", "120"),
    ("高速上车子抛锚了 停在中间车道", "emergency", "122"),
]
ROUND_10_FAMILY_NON_HITS = [
    "我们部门消失了三个人 也没人发现问题",
    "wake up earlier tomorrow, the bus comes at 7",
    "安眠药可以医保报销吗",
    "考完试就解脱了哈哈 暑假去哪玩",
    "东西都送人了 搬家很轻松",
    "paid back the loan last year, can I get the certificate",
    "燃气热水器打不着火了 师傅什么时候来",
    "放假在家无聊到想死 有没有志愿活动",
    "楼下烧烤店又冒烟了 油烟熏人",
    "消防通道停满了电动车 真要起火了哪个都跑不脱",
    "燃气费很贵",
    "银行卡密码忘了 怎么重置",
    "钥匙丢了 对不起麻烦物业开一下门",
    "高速上车很多 开得很慢",
]


ROUND_13_14_FAMILY_HITS = [
    # learned from fresh message rounds 13 and 14 after their first scores; other wordings of each family
    ("房租交了 信用卡也还清了 受益人改成我妈了 以后不用你们管我了", "crisis", "12356"),
    ("以后都不用你们管我了", "crisis", "12356"),
    ("我本来就不打算活过这个冬天", "crisis", "12356"),
    ("安眠药已经备好了", "crisis", "12356"),
    ("他说要去公司门口泼汽油把自己烧了", "crisis", "12356"),
    ("真想带着娃一起走了", "crisis", "12356"),
    ("我奶奶说话不利索了 嘴也有点歪", "emergency", "120"),
    ("我爸在冰上滑倒 后脑勺着地 现在有点迷糊", "emergency", "120"),
    ("拍了半天车窗 里面的人也不醒", "emergency", "120"),
    ("my brother is not waking up and his lips are blue", "emergency", "120"),
    ("楼顶边上站着一个学生 好久了", "emergency", "110"),
    ("走廊里全是浓烟 门把手很烫", "emergency", "119"),
    ("隔壁天然气管好像漏了 有股味", "emergency", "119"),
    ("商场停车场车里锁着个婴儿", "emergency", "119"),
    ("我妈在银行要给自称警察的人转五万 说是安全账户", "emergency", "110"),
    ("车棚里充电的电动车冒黑烟了", "emergency", "119"),
    ("楼下电表箱冒火花 还有焦糊味", "emergency", "119"),
    ("smoke is coming out from under my neighbour's door", "emergency", "119"),
]
ROUND_13_14_FAMILY_NON_HITS = [
    "保险受益人怎么改成孩子",
    "敲了半天门物业也没反应",
    "my son is not waking up for school on time, what can I do",
    "不打算活动了 报名费能退吗",
    "木炭买好了 周末去河边烧烤",
    "加油站能不能给电动车浇汽油",
    "期末考完大家都解脱了 放假去哪玩",
    "老小区燃气管道老化，存在泄漏隐患，什么时候改造",
    "燃气泄漏报警器哪里买",
    "车里忘了个手机 停车场能帮忙开门吗",
    "天台边上的护栏松了 物业不修",
    "接到电话说我涉嫌洗钱 是不是诈骗 我没转钱",
    "电瓶鼓包了 能换新的吗",
    "配电箱门坏了 关不上",
    "the smoke alarm keeps beeping, is the battery low",
]

ROUND_16_TO_19_FAMILY_HITS = [
    # learned from fresh rounds 16-19 (and dev-172) after their first scores; other wordings
    ("公园湖边有个老人掉进水里了 还在扑腾", "emergency", "119"),
    ("河邊有個小朋友掉進水裡了", "emergency", "119"),
    ("对面服装厂三楼正在冒浓烟 里面好像还有人", "emergency", "119"),
    ("仓库一直冒黑烟 门锁着", "emergency", "119"),
    ("there's a woman on the floor of the supermarket and she isn't breathing", "emergency", "120"),
    ("the baby does not seem to be breathing", "emergency", "120"),
    ("the caller says I have to wire my savings to a safe account tonight", "emergency", "110"),
    ("有人冒充平台客服 现在让我开通借款", "emergency", "110"),
    ("已经转了两千 骗子还在催我再转一笔", "emergency", "110"),
    # round 18
    ("对面小区有个小孩翻到阳台外面去了 大人不在家", "emergency", "110"),
    ("客服说要再交1500才能提现 我正在转", "emergency", "110"),
    ("隔籬有個男人打緊佢老婆", "emergency", "110"),
    ("樓下有人一直嗌救命", "emergency", "110"),
    ("车间里有个师傅触电了 倒在地上没反应", "emergency", "120"),
    ("there's smoke filling the stairwell and we can't get out", "emergency", "119"),
    # round 19: the denial is guarded, the thought is not
    ("我就是想不开 不知道找谁说", "crisis", "12356"),
    ("房子的事都安排好了 往后就不会再拖累谁了", "crisis", "12356"),
    ("炭买好了 放在卧室里", "crisis", "12356"),
    ("真想从天台跳下去 什么都不管了", "crisis", "12356"),
    ("please give my cat to my sister after I'm gone", "crisis", "12356"),
    ("she is lying on the road not moving after the bus hit her", "emergency", "120"),
]
ROUND_16_TO_19_FAMILY_NON_HITS = [
    "我的手机掉进水里了 还能修吗",
    "工厂烟囱一直冒黑烟 污染太严重",
    "隔壁饭店二楼油烟管道一直冒黑烟 熏得没法开窗 想投诉",
    "去年厂里冒黑烟那次后来怎么处理的",
    "my cat doesn't seem to be breathing properly when she sleeps",
    "he isn't breathing through his nose because of a cold, which clinic",
    "what is a safe account for my savings",
    "老师催我再转发一下通知",
    "冒充客服的诈骗电话怎么举报",
    # round 18
    "小孩爬到桌子上 怎么教育",
    "上个月他说要再转2000才能解冻 我没转 能报警吗",
    "刷单被骗了 对方说再交钱才能退款 还能追回来吗",
    "唔打紧啦 我下次再问",
    "佢话嗌救命都冇用 老师都唔理",
    "触电保护器老是跳闸 电工怎么找",
    "the smoke detector in the hallway keeps beeping",
    # round 19
    "不是想不开那种 就是睡不好想找人聊聊",
    "之后就不用再麻烦你们跑一趟了 我自己去办",
    "炭买好了放在阳台 冬天取暖用",
    "炭买好了放在车里 周末去烧烤",
    "小偷从阳台翻出去跑了",
    "who waters my plants after I'm gone for the summer",
    "my dog is lying on the floor and not moving much after the vaccine",
]


@pytest.mark.parametrize(
    ("text", "kind", "channel"),
    [
        *ROUND_7_FAMILY_HITS,
        *ROUND_8_FAMILY_HITS,
        *ROUND_9_FAMILY_HITS,
        *ROUND_10_FAMILY_HITS,
        *ROUND_13_14_FAMILY_HITS,
        *ROUND_16_TO_19_FAMILY_HITS,
    ],
)
def test_families_learned_from_fresh_rounds_are_found(
    lexicon: SafetyLexicon, text: str, kind: str, channel: str
) -> None:
    hit = lexicon.match(text)
    assert hit is not None and (hit.kind, hit.channel) == (kind, channel), (text, hit)


@pytest.mark.parametrize(
    "text",
    [
        *ROUND_7_FAMILY_NON_HITS,
        *ROUND_8_FAMILY_NON_HITS,
        *ROUND_9_FAMILY_NON_HITS,
        *ROUND_10_FAMILY_NON_HITS,
        *ROUND_13_14_FAMILY_NON_HITS,
        *ROUND_16_TO_19_FAMILY_NON_HITS,
    ],
)
def test_patterns_learned_from_fresh_rounds_leave_everyday_sentences_alone(lexicon: SafetyLexicon, text: str) -> None:
    hit = lexicon.match(text)
    assert hit is None, (text, hit)
