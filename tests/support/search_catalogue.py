# ruff: noqa: E501 -- one product per line reads better than wrapped rows
"""A realistic search catalogue for 谭家场乡: the township's real product kinds across its ten
villages and eight (sample) cooperatives, with decoys that share characters (辣椒酱 / 干辣椒,
腊肉 / 腊肠, 鸡蛋 / 鸭蛋, 茶油 / 茶叶 / 油茶), traditional characters, full-width forms and
units in specs (500克, 1斤, 2.5L). Cooperatives, prices and sales are sample data.

One product per line: ``id|name|category|village|cooperative|certifications|storage|specs|
sales|description`` with specs as ``spec:price_fen:stock`` joined by ``;``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from farmgate.search.backend import SearchBackend, SearchDocument
from farmgate.search.embedded import EmbeddedIndex

VILLAGES = {
    1: "谭家场",
    2: "李家坳",
    3: "高坪",
    4: "上荆竹溪",
    5: "下荆竹溪",
    6: "小板林",
    7: "大板林",
    8: "狮头坡",
    9: "草子坳",
    10: "王洋屯",
}
COOPERATIVES = {
    1: "辰溪县谭家场红辣椒种植专业合作社（示例）",
    2: "谭家场乡高坪稻花鱼养殖专业合作社（示例）",
    3: "谭家场乡狮头坡山茶油专业合作社（示例）",
    4: "李家坳腊味加工专业合作社（示例）",
    5: "荆竹溪生态农业专业合作社（示例）",
    6: "大板林茶叶专业合作社（示例）",
    7: "草子坳农产品专业合作社（示例）",
    8: "王洋屯果蔬专业合作社（示例）",
}

ROWS = """
101|谭家场干红辣椒|dried_goods|1|1|geo_indication|ambient|500g 袋装:3800:120;1kg 袋装:7200:60|860|本地朝天椒，日晒风干，香辣适中。
102|干辣椒 特辣朝天椒|dried_goods|1|1||ambient|250g 袋装:1900:200;500g 袋装:3600:80|640|山地种植的小米辣，晒干后辣味十足，炒菜炖肉都合适。
103|农家干辣椒|dried_goods|9|7||ambient|500g 袋装:3200:50|310|草子坳农户自家晒的干辣椒，色泽暗红，无硫磺熏制。
104|干辣椒段|dried_goods|1|1||ambient|200g 袋装:1500:90|150|干辣椒剪段去籽，做干锅、水煮鱼方便。
105|辣椒干 整只|dried_goods|2|4||ambient|1斤 袋装:3500:40|95|李家坳晒制的整只辣椒干，适合做剁椒和泡菜。
106|剁辣椒|dried_goods|2|1||ambient|300g 瓶装:2200:80|720|鲜红辣椒手工剁制，农家风味。
107|剁辣椒 蒜蓉味|dried_goods|1|1||ambient|500g 瓶装:2800:60|260|加入本地大蒜一起剁制，下饭拌面。
108|辣椒粉|dried_goods|1|1||ambient|250g 袋装:1800:0|430|干辣椒石磨研磨。
109|细辣椒粉 烧烤用|dried_goods|9|7||ambient|100g 袋装:900:150|120|干辣椒炒香后磨成细粉，烧烤撒料。
110|辣椒酱|dried_goods|1|1||ambient|280g 瓶装:1600:100|980|鲜辣椒加豆豉熬制，开瓶即食。
111|香辣辣椒酱 牛肉粒|dried_goods|3|2||ambient|210g 瓶装:2600:70|350|辣椒酱里加了黄牛肉粒，拌饭一绝。
112|糍粑辣椒|dried_goods|1|1||ambient|400g 瓶装:2400:30|88|干辣椒泡软后舂成糍粑状，做黄焖鸡必备。
113|泡辣椒|dried_goods|10|8||ambient|500g 坛装:2000:25|64|坛子泡制的酸辣椒，开胃。
114|鲜红辣椒|fruit_veg|1|1||chilled|1kg 箱装:1600:200|210|当天采摘的新鲜线椒，冷链发货。
115|青辣椒|fruit_veg|10|8||chilled|1kg 箱装:1200:150|140|王洋屯大棚青椒，脆嫩微辣。
116|朝天椒种子|other|1|1||ambient|10g 袋装:500:300|40|谭家场本地朝天椒留种，适合春季育苗。
117|干红辣椒 礼盒|dried_goods|1|1|geo_indication;green_food|ambient|1.5kg 礼盒:16800:20|75|精选谭家场干红辣椒，三种辣度组合礼盒。
118|辣椒油|dried_goods|8|3||ambient|250ml 瓶装:2200:40|190|山茶油熬制的红油辣椒，香而不燥。
119|花椒|dried_goods|7|6||ambient|100g 袋装:1800:60|90|大板林山上的野花椒，麻味足。
120|剁椒鱼头调料|dried_goods|3|2||ambient|200g 瓶装:1500:60|55|剁椒配高坪稻花鱼做鱼头，鲜辣。
121|谭家场干辣椒 中辣|dried_goods|1|1|geo_indication|ambient|500g 袋装:3500:70|510|谭家场合作社统一收购晾晒，中等辣度。
122|小米辣 干辣椒|dried_goods|6|7||ambient|250g 袋装:2000:40|160|小板林小米辣晒干，辣度高。
123|辣椒粉 粗粉|dried_goods|2|4||ambient|500g 袋装:2600:30|90|做剁辣椒、腌腊肉用的粗辣椒粉。
124|线椒干|dried_goods|3|2||ambient|500g 袋装:3000:30|70|细长线椒晒干，香辣不燥。
125|剁辣椒 大瓶装|dried_goods|9|7||ambient|1kg 瓶装:4800:20|180|草子坳农家剁辣椒，一次吃个够。
126|辣椒酱 香菇味|dried_goods|7|6||ambient|200g 瓶装:1800:30|110|香菇和辣椒熬制的下饭酱。
201|高坪稻花香米|grain_oil|3|2|green_food|ambient|5kg 袋装:6800:200|1500|稻鱼共生田的当季新米。
202|稻花香米 真空砖|grain_oil|3|2|green_food|ambient|2.5kg 真空装:3900:120|620|稻花鱼田里种出的香米，真空砖包装，不易生虫。
203|有机大米|grain_oil|4|5|organic|ambient|5kg 袋装:8800:80|410|上荆竹溪山泉水灌溉，有机认证大米。
204|富硒米|grain_oil|5|5||ambient|10kg 袋装:11800:40|230|下荆竹溪富硒土壤种植。
205|糯米|grain_oil|9|7||ambient|2.5kg 袋装:3200:90|300|包粽子、打糍粑的本地糯米。
206|红米|grain_oil|6|7||ambient|1kg 袋装:1600:70|85|小板林梯田红米，煮粥香糯。
207|米粉 干米粉|grain_oil|3|2||ambient|1kg 袋装:1800:160|520|用高坪大米磨浆晒制的干米粉，久煮不烂。
208|湘西米豆腐|grain_oil|9|7||chilled|500g 盒装:900:40|60|大米磨浆加碱水制成，凉拌热炒都好吃。
209|新米 大米 25斤装|grain_oil|10|8||ambient|12.5kg 袋装:9900:30|260|王洋屯当季新米，一袋25斤。
210|红薯粉丝|grain_oil|6|7||ambient|500g 袋装:1500:100|280|小板林红薯手工漏的粉丝。
211|葛根粉|grain_oil|7|6||ambient|500g 罐装:4800:30|110|大板林野生葛根打浆沉淀晒制。
212|玉米粒|grain_oil|10|8||ambient|1kg 袋装:900:60|45|本地黄玉米脱粒晒干。
213|有机糙米|grain_oil|4|5|organic|ambient|2kg 袋装:3600:50|140|上荆竹溪有机稻谷只去壳的糙米。
214|高坪稻花香米 5斤|grain_oil|3|2|green_food|ambient|2.5kg 袋装:3600:100|720|高坪稻花鱼田的香米小袋装。
215|谭家场大米|grain_oil|1|1||ambient|5kg 袋装:5800:80|330|谭家场水田一季稻。
216|糯米 血糯|grain_oil|7|6||ambient|1kg 袋装:2200:20|50|大板林紫红色血糯米。
301|湘西腊肉|meat_eggs|9|3||ambient|500g 真空装:6800:35|900|柴火熏制，肥瘦相间。
302|柴火腊肉 五花|meat_eggs|2|4||ambient|500g 真空装:6500:60;1kg 真空装:12800:30|1200|李家坳土猪五花肉，用干辣椒和花椒腌制后柴火熏足四十天。
303|烟熏腊肉 后腿|meat_eggs|2|4||ambient|1斤 真空装:5800:40|530|后腿瘦肉多，适合炒蒜苗。
304|五花腊肉|meat_eggs|9|7||ambient|2斤 真空装:11800:20|260|草子坳农家自熏五花腊肉。
305|腊肉礼盒|meat_eggs|2|4|green_food|ambient|2kg 礼盒:25800:15|180|腊肉、腊肠、腊猪蹄三拼礼盒。
306|腊肠|meat_eggs|2|4||ambient|500g 真空装:5200:50|700|七分瘦三分肥，加白酒和糖灌制，柴火熏干。
307|麻辣腊肠|meat_eggs|2|4||ambient|500g 真空装:5400:45|450|加入辣椒粉和花椒粉的麻辣口味腊肠。
308|腊猪蹄|meat_eggs|9|7||ambient|1kg 真空装:7800:20|150|整只猪蹄熏制，炖汤香浓。
309|腊鸭|meat_eggs|8|3||ambient|1只 真空装:8800:15|90|整只麻鸭腌制风干。
310|腊鱼|aquatic|3|2||ambient|500g 真空装:4800:30|210|高坪稻花鱼腌制熏干，蒸着吃。
311|猪血丸子|meat_eggs|9|7||ambient|500g 真空装:3800:40|330|豆腐加猪血和肉丁捏成丸子熏干，湘西特色。
312|腊鸡|meat_eggs|6|7||ambient|1只 真空装:9800:10|70|散养土鸡腌制熏干。
313|熏肉 瘦肉|meat_eggs|7|6||ambient|500g 真空装:6200:25|120|大板林柴火熏的瘦肉。
314|腊肉 500克装|meat_eggs|1|1||ambient|500克 真空装:6600:30|210|谭家场农户自熏腊肉，一块约一斤。
315|新鲜猪肉 土猪|meat_eggs|5|5||chilled|1kg 冷鲜装:5600:20|160|下荆竹溪散养土猪，冷鲜配送，可自己做腊肉。
316|腊肉 精选五花 2斤|meat_eggs|9|7||ambient|1kg 真空装:12800:20|140|草子坳腊肉精选五花。
317|腊肠 甜味|meat_eggs|3|2||ambient|500g 真空装:5000:30|130|广式甜口腊肠，高坪加工。
318|腊肉腊肠组合装|meat_eggs|2|4||ambient|1kg 真空装:11800:20|240|腊肉、腊肠各500g。
319|腊肉 狮头坡|meat_eggs|8|3||ambient|500g 真空装:6200:20|90|狮头坡山里人家柴火熏。
401|压榨山茶油|grain_oil|8|3|green_food|ambient|500ml 瓶装:8800:70;2.5L 桶装:39800:20|800|一级压榨，色泽清亮。
402|野山茶油|grain_oil|8|3|organic|ambient|1L 瓶装:16800:30|420|狮头坡百年油茶林野生茶籽冷榨。
403|冷榨茶籽油|grain_oil|8|3||ambient|500ml 瓶装:7800:40|260|低温冷榨保留茶籽油的清香。
404|山茶油 礼盒装|grain_oil|8|3|green_food|ambient|2×500ml 礼盒:19800:15|150|两瓶装山茶油礼盒，送长辈。
405|茶油 5斤装|grain_oil|1|1||ambient|2.5L 桶装:36800:10|90|谭家场自家油茶树的茶油，土法压榨。
406|菜籽油|grain_oil|10|8||ambient|5L 桶装:8800:30|330|王洋屯油菜籽物理压榨。
407|茶油 小瓶装|grain_oil|8|3||ambient|250ml 瓶装:4800:60|240|出门携带的小瓶茶油。
408|茶籽|other|8|3||ambient|1kg 袋装:2000:20|20|晒干的油茶籽，可自行榨油。
409|山茶油 谭家场|grain_oil|1|1||ambient|1L 瓶装:15800:15|110|谭家场乡山茶油，古法压榨。
410|茶籽油 5L 桶装|grain_oil|8|3|green_food|ambient|5L 桶装:68800:5|40|家庭装茶籽油。
501|辰溪稻花鱼|aquatic|3|2|geo_indication|chilled|单条约 300g:3500:40;4 条礼盒:12800:15|1100|国家地理标志产品，稻田生态养殖，冷链发货。
502|稻花鱼 活鱼|aquatic|3|2|geo_indication|chilled|1斤:3200:30|380|稻田里现捞的活鱼，充氧打包。
503|稻花鱼干|aquatic|3|2||ambient|250g 袋装:4200:50|290|稻花鱼去鳞晒干，油炸下酒。
504|冷冻稻田鱼|aquatic|4|5||frozen|1kg 冷冻装:4600:25|130|上荆竹溪稻田鱼急冻保鲜。
505|草鱼|aquatic|5|5||chilled|1条约 2kg:5800:10|80|下荆竹溪水库草鱼。
506|泥鳅|aquatic|3|2||chilled|500g:3000:20|60|稻田野生泥鳅。
507|冷冻虾仁|aquatic|10|8||frozen|250g 冷冻装:3900:15|45|真空急冻虾仁。
508|稻花鱼 礼盒|aquatic|3|2|geo_indication|frozen|6 条礼盒:18800:10|180|急冻稻花鱼礼盒，春节送礼。
509|鱼干 小鱼仔|aquatic|5|5||ambient|250g 袋装:2600:30|160|溪沟小鱼晒干，香辣下饭。
601|土鸡蛋|meat_eggs|4|2||ambient|30 枚装:4500:50|950|山上散养土鸡所产。
602|散养土鸡蛋 谭家场|meat_eggs|1|1||ambient|20 枚装:3200:60|430|谭家场山林散养，鸡吃虫草谷物。
603|农家鸡蛋|meat_eggs|1|7||ambient|30 枚装:3900:40|280|谭家场农户家里收的鸡蛋，个头不大蛋黄红。
604|鸭蛋|meat_eggs|3|2||ambient|20 枚装:3600:40|210|稻田放养麻鸭下的蛋。
605|咸鸭蛋|meat_eggs|3|2||ambient|12 枚装:3000:60|390|黄泥腌制，流油起沙。
606|皮蛋|meat_eggs|5|5||ambient|20 枚装:2800:30|120|传统工艺松花皮蛋。
607|鹅蛋|meat_eggs|6|7||ambient|6 枚装:3600:20|50|农家大白鹅蛋。
608|土鸡 整只|meat_eggs|6|7||frozen|1只约 1.5kg:12800:10|170|小板林散养一年土鸡，宰杀后急冻。
609|乌鸡蛋|meat_eggs|7|6||ambient|30 枚装:5800:20|90|大板林散养乌鸡所产。
610|土鸡蛋 谭家场 60枚|meat_eggs|1|1|green_food|ambient|60 枚装:8800:15|160|谭家场散养土鸡蛋家庭装。
611|鸡蛋干|meat_eggs|10|8||ambient|200g 袋装:1500:50|70|卤制的豆制零食，口感像鸡蛋。
612|鹌鹑蛋|meat_eggs|10|8||ambient|50 枚装:2600:30|80|王洋屯养殖鹌鹑蛋。
613|土鸡蛋 草子坳|meat_eggs|9|7||ambient|30 枚装:4200:20|200|草子坳放养土鸡蛋。
614|鸭蛋 腌制 咸鸭蛋礼盒|meat_eggs|3|2||ambient|20 枚礼盒:5800:10|60|高坪麻鸭蛋黄泥腌制。
615|鸡蛋 30枚|meat_eggs|10|8||ambient|30 枚装:3600:40|260|王洋屯养鸡场鲜鸡蛋。
701|大板林绿茶|tea_drinks|7|6|organic|ambient|250g 罐装:9800:30|330|明前采摘，高山云雾绿茶。
702|黑茶 茯砖|tea_drinks|7|6||ambient|1kg 砖:15800:10|90|大板林茶叶压制的茯砖黑茶。
703|红茶|tea_drinks|6|6||ambient|100g 罐装:6800:20|140|小板林夏茶做的工夫红茶。
704|野茶|tea_drinks|8|3||ambient|100g 袋装:5800:15|60|狮头坡山上采的野生茶叶，手工炒制。
705|擂茶|tea_drinks|9|7||ambient|500g 袋装:2800:40|220|茶叶、芝麻、花生擂成粉，冲泡即饮。
706|茶叶 散装|tea_drinks|7|6||ambient|500g 袋装:6800:30|150|大板林自产茶叶，口粮茶。
707|油茶 速溶|tea_drinks|5|5||ambient|400g 袋装:2400:40|100|炒米加茶叶煮成的油茶汤料，开水一冲即可。
708|金银花茶|tea_drinks|10|8||ambient|50g 罐装:3800:20|50|王洋屯山上的金银花晒干。
709|绿茶 礼盒|tea_drinks|7|6|organic;green_food|ambient|2×250g 礼盒:19800:10|70|明前绿茶礼盒。
710|绿茶 雨前|tea_drinks|6|6||ambient|250g 袋装:6800:30|120|小板林雨前绿茶。
711|黑茶 千两茶|tea_drinks|7|6||ambient|1kg 柱:28800:5|30|传统千两茶工艺。
801|土蜂蜜|other|6|7||ambient|500g 瓶装:6800:40|480|小板林山上中华蜂百花蜜，一年只取一次。
802|百花蜂蜜|other|7|6||ambient|1kg 瓶装:9800:20|160|大板林蜂场。
803|蜂蜜柚子茶|tea_drinks|10|8||ambient|500g 瓶装:3800:30|120|本地柚子皮和蜂蜜熬制。
804|椪柑|fruit_veg|10|8||ambient|5kg 箱装:4800:60|390|王洋屯椪柑，皮薄汁多。
805|脐橙|fruit_veg|10|8||ambient|5kg 箱装:5800:40|260|山地脐橙。
806|柚子|fruit_veg|5|5||ambient|2 个装:2800:30|110|下荆竹溪老树沙田柚。
807|干香菇|dried_goods|7|6||ambient|250g 袋装:4800:40|240|椴木香菇晒干，香味浓。
808|黑木耳|dried_goods|7|6||ambient|250g 袋装:3800:35|180|大板林椴木黑木耳。
809|笋干|dried_goods|6|7||ambient|500g 袋装:4200:30|150|春笋煮熟晒干，炖腊肉一绝。
810|蕨菜干|dried_goods|8|3||ambient|250g 袋装:3200:25|70|狮头坡山上采的蕨菜焯水晒干。
811|酸萝卜|fruit_veg|9|7||ambient|500g 坛装:1600:30|60|坛子酸萝卜，配稀饭。
812|霉豆腐 豆腐乳|dried_goods|9|7||ambient|300g 瓶装:1800:50|210|农家霉豆腐，茶油浸泡，辣椒粉裹身。
813|竹编收纳篮 安装简单|handicraft|5|5||ambient|大号:6800:10;小号:3800:20|40|荆竹溪楠竹手工编织，免工具，安装简单。
814|竹编背篓|handicraft|4|5||ambient|1 个:12800:5|25|传统竹编背篓，可当装饰。
815|土布围裙|handicraft|1|1||ambient|1 件:4800:10|20|谭家场老织布机织的土布。
816|红薯|fruit_veg|6|7||ambient|5kg 箱装:2600:50|300|小板林沙土红薯，烤着吃甜。
817|紫薯|fruit_veg|6|7||ambient|5kg 箱装:3200:30|140|紫薯蒸着吃粉糯。
818|土豆|fruit_veg|10|8||ambient|5kg 箱装:1800:60|200|高山土豆。
819|生姜|fruit_veg|2|4||ambient|1kg 袋装:1500:40|90|小黄姜，姜味足。
820|大蒜|fruit_veg|2|4||ambient|1kg 袋装:1600:40|80|紫皮独头蒜。
821|黄豆|grain_oil|9|7||ambient|1kg 袋装:1200:60|110|农家黄豆，打豆浆香。
822|花生|grain_oil|10|8||ambient|1kg 袋装:2200:50|170|王洋屯沙地花生。
823|芝麻|grain_oil|10|8||ambient|500g 袋装:2200:30|60|黑芝麻。
824|魔芋豆腐|fruit_veg|7|6||chilled|1kg 袋装:1800:20|90|大板林魔芋手工制作。
825|香菇酱|dried_goods|7|6||ambient|200g 瓶装:1900:40|130|香菇丁加辣椒熬制。
826|板栗|fruit_veg|7|6||ambient|1kg 袋装:2600:30|120|大板林野生板栗。
827|核桃|fruit_veg|8|3||ambient|1kg 袋装:3600:20|50|山核桃。
829|土蜂蜜 草子坳|other|9|7||ambient|500g 瓶装:6200:20|100|草子坳土蜂蜜。
830|香菇 鲜|fruit_veg|7|6||chilled|500g 盒装:1800:30|90|鲜香菇，冷藏发货。
831|木耳 秋木耳|dried_goods|6|7||ambient|250g 袋装:4200:20|60|秋季采收的木耳，肉厚。
832|葛根|fruit_veg|7|6||ambient|2kg 袋装:2800:10|30|野生葛根，可煲汤。
833|竹笋 鲜|fruit_veg|4|5||chilled|2kg 箱装:2600:20|80|上荆竹溪春笋。
834|酸菜|fruit_veg|9|7||ambient|500g 袋装:1200:40|70|坛子腌的酸菜。
835|豆腐乳|dried_goods|5|5||ambient|300g 瓶装:1600:40|90|下荆竹溪农家豆腐乳。
836|辣椒 鲜 线椒 5斤|fruit_veg|2|4||chilled|2.5kg 箱装:2800:20|60|李家坳地里现摘的线椒。
837|竹编 果盘|handicraft|4|5||ambient|1 个:3800:10|15|楠竹编的果盘。
838|草编 蒲团|handicraft|9|7||ambient|1 个:4800:8|10|草子坳稻草编的蒲团。
839|手工布鞋|handicraft|1|1||ambient||0|谭家场手工千层底布鞋，接受定制，下单后联系。
901|臘味合蒸禮盒|meat_eggs|2|4||ambient|1.5kg 禮盒:19800:10|60|臘肉、臘魚、臘雞合蒸，湘菜名菜。
902|乾辣椒 傳統曬製|dried_goods|1|1||ambient|500克 袋裝:3900:20|40|傳統日曬乾辣椒，香辣。
903|譚家場土雞蛋|meat_eggs|1|1||ambient|30 枚裝:4800:10|30|譚家場散養土雞蛋。
904|辣椒面（粗）|dried_goods|1|1||ambient|２５０ｇ 袋装:1500:10|10|全角规格的粗辣椒面。
905|茶葉 高山雲霧|tea_drinks|7|6||ambient|250克 罐裝:8800:10|20|大板林高山雲霧茶葉。
"""

BASE_DATE = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def _document(line: str) -> SearchDocument:
    pid, name, category, village, coop, certs, storage, specs, sales, description = line.split("|")
    skus = [s.rsplit(":", 2) for s in specs.split(";") if s]
    prices = [int(price) for _, price, _ in skus]
    return SearchDocument(
        id=int(pid),
        name=name,
        description=description,
        category=category,
        village_id=int(village),
        village_name=VILLAGES[int(village)],
        cooperative_id=int(coop),
        cooperative_name=COOPERATIVES[int(coop)],
        certifications=[c for c in certs.split(";") if c],
        storage_class=storage,
        in_stock=any(int(stock) > 0 for _, _, stock in skus),
        price_min_fen=min(prices) if prices else None,
        price_max_fen=max(prices) if prices else None,
        sales=int(sales),
        published_at=BASE_DATE + timedelta(days=int(pid) % 97, hours=int(pid) % 13),
        specs=[spec for spec, _, _ in skus],
        unit="",
        photo_url=None,
    )


def catalogue() -> list[SearchDocument]:
    """The catalogue, freshly built (documents are immutable, the list is yours)."""
    return [_document(line) for line in ROWS.strip().splitlines()]


@contextmanager
def catalogue_backend(kind: str) -> Iterator[SearchBackend]:
    """The catalogue indexed by the embedded engine or, when FARMGATE_MEILI_URL names a
    server, by Meilisearch in an index of its own (dropped afterwards)."""
    if kind == "embedded":
        yield EmbeddedIndex(catalogue())
        return
    url = os.environ.get("FARMGATE_MEILI_URL")
    if not url:
        pytest.skip("FARMGATE_MEILI_URL is not set: no Meilisearch server to test against")
    from farmgate.search.meili import MeiliBackend

    backend = MeiliBackend(url, os.environ.get("FARMGATE_MEILI_KEY"), f"test-{uuid.uuid4().hex}")
    backend.configure()
    backend.index(catalogue())
    try:
        yield backend
    finally:
        backend.drop()
