"""The small tables the demo draws from: people, places, goods, companies, remarks.

Real provinces, cities and districts (so the address checks of the health issue find them),
made-up street lines and people. Prices are integer fen, as everywhere inside orderbot.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    province: str
    city: str
    district: str
    division: str  # 6-digit administrative division code (GB/T 2260), used in tax ids
    streets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Product:
    sku: str  # the seller's own code: the same on every channel (duplicate checks rely on it)
    title: str
    price_fen: int
    presale: bool = False  # made to order: sold with a deposit (定金) first
    max_quantity: int = 1


SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋"
            "唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈")
GIVEN_NAMES = ("伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
               "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "小明", "一鸣",
               "子涵", "欣怡", "浩然", "梓萱", "宇轩", "思远", "雨桐", "建国", "海燕", "志强")
# Mobile number segments in use by 中国移动 / 联通 / 电信 / 广电.
MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157",
                   "158", "159", "178", "182", "183", "187", "188", "198", "130", "131", "132",
                   "155", "156", "166", "175", "176", "185", "186", "133", "153", "173", "177",
                   "180", "181", "189", "191", "199", "192")

PLACES = (
    Place("北京市", "北京市", "朝阳区", "110105", ("建国路88号SOHO现代城", "望京街道阜通东大街6号",
                                          "东三环中路39号建外SOHO")),
    Place("北京市", "北京市", "海淀区", "110108", ("中关村大街27号", "学院路30号")),
    Place("上海市", "上海市", "浦东新区", "310115", ("张杨路500号", "世纪大道1568号",
                                           "锦绣路1001弄")),
    Place("上海市", "上海市", "徐汇区", "310104", ("漕溪北路88号", "天钥桥路123号")),
    Place("广东省", "广州市", "天河区", "440106", ("天河路385号", "华夏路8号", "体育西路191号")),
    Place("广东省", "深圳市", "南山区", "440305", ("科苑路15号", "海德三道1186号")),
    Place("浙江省", "杭州市", "西湖区", "330106", ("文三路478号", "文一西路969号", "古墩路702号")),
    Place("江苏省", "苏州市", "姑苏区", "320508", ("人民路3188号", "干将西路1208号")),
    Place("四川省", "成都市", "武侯区", "510107", ("人民南路四段9号", "科华北路65号")),
    Place("湖北省", "武汉市", "洪山区", "420111", ("珞喻路1037号", "光谷大道77号")),
    Place("陕西省", "西安市", "雁塔区", "610113", ("小寨东路126号", "高新路52号")),
    Place("福建省", "厦门市", "思明区", "350203", ("湖滨南路388号", "莲前西路2号")),
    Place("山东省", "青岛市", "市南区", "370202", ("香港中路76号", "东海西路35号")),
    Place("湖南省", "长沙市", "岳麓区", "430104", ("麓山南路932号", "枫林三路2号")),
    Place("重庆市", "重庆市", "渝中区", "500103", ("解放碑民族路188号", "中山三路131号")),
)

CATALOGUE: dict[str, tuple[Product, ...]] = {
    "家居定制": (
        Product("SOFA-GRY-3", "北欧布艺沙发 三人位 浅灰", 399900),
        Product("SOFA-LTH-L", "头层牛皮L型转角沙发 定制尺寸", 899900, presale=True),
        Product("TBL-OAK-140", "白橡木实木餐桌 1.4米", 259900),
        Product("CHAIR-OAK", "白橡木餐椅", 69900, max_quantity=6),
        Product("MAT-LTX-180", "天然乳胶床垫 1.8米", 329900),
        Product("BED-WAL-180", "黑胡桃木双人床 1.8米 定制", 689900, presale=True),
        Product("WARD-CUSTOM", "全屋定制衣柜 (按延米)", 128000, presale=True, max_quantity=4),
    ),
    "服装": (
        Product("TEE-WHT-L", "纯棉圆领T恤 白色 L", 8900, max_quantity=3),
        Product("DOWN-BLK-M", "轻薄羽绒服 黑色 M", 49900),
        Product("JEAN-BLU-30", "直筒牛仔裤 蓝色 30码", 22900, max_quantity=2),
        Product("SHIRT-OX-40", "牛津纺长袖衬衫 40码", 16900, max_quantity=2),
    ),
    "汽配": (
        Product("PAD-FRONT-01", "陶瓷刹车片 前轮", 26800, max_quantity=2),
        Product("BULB-H7", "H7 卤素大灯泡", 3500, max_quantity=4),
        Product("OIL-5W30-4L", "全合成机油 5W-30 4L", 32900, max_quantity=3),
        Product("WIPER-24", "无骨雨刮片 24寸", 5900, max_quantity=2),
        Product("FILTER-AIR-01", "空气滤清器", 4500, max_quantity=2),
    ),
}

COMPANIES = ("杭州云栖家居有限公司", "上海浦江汽车服务有限公司", "广州天河服饰贸易有限公司",
             "深圳南山科技有限公司", "成都锦城装饰工程有限公司", "武汉光谷汽配连锁有限公司",
             "苏州姑苏酒店管理有限公司", "北京朝阳办公设备有限公司")

REMARKS = ("请周末送货", "送货前请电话联系", "6楼无电梯，需要搬运上楼", "沙发颜色要浅灰，不要深灰",
           "发顺丰", "不要放驿站", "下周搬家，请尽快安排", "麻烦开发票", "放门口即可",
           "安装师傅请提前一天预约")

# The demo's stock snapshot (loaded into stock_levels at start, as `orderbot stock load` would):
# only these SKUs are tracked, so healthy demo orders are never judged on stock. The 2-seat
# grey sofa is sold out; of its substitutes (in order of preference) only beige is in stock.
OUT_OF_STOCK = Product("SOFA-GRY-2", "北欧布艺沙发 双人位 浅灰", 299900)
STOCK_LEVELS: dict[str, int] = {"SOFA-GRY-2": 0, "SOFA-BLU-2": 0, "SOFA-BEI-2": 35}
SUBSTITUTES: dict[str, tuple[str, ...]] = {"SOFA-GRY-2": ("SOFA-BLU-2", "SOFA-BEI-2")}
# Made to order: the corner sofa's spec comes from the buyer's remark; the workshop cannot make
# one shallower than 60 cm (CUSTOM_SPEC_CONFLICT, a C freeze for production).
CUSTOM_SKUS: dict[str, str] = {"SOFA-LTH-L": "sofa"}
CUSTOM_CONFLICT_REMARK = "定制尺寸：长度 320cm，进深 50cm，图纸已发旺旺"
