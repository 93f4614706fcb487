//! Word lists and small generators for the parts of a review that are not corpus text:
//! buyer nicks, seller nicks, item titles and prices, seller replies.
//!
//! Contract: every function is a pure function of the RNG passed in, so a seed reproduces
//! the same world.

use rand::seq::SliceRandom;
use rand::Rng;

use schemas::Platform;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高",
];
const GIVEN: &[&str] = &[
    "小明", "晓燕", "伟", "芳", "静怡", "子涵", "浩然", "雨桐", "思远", "欣怡", "俊杰", "梦琪",
    "一鸣", "佳琪", "建国", "丽娟",
];
const PINYIN_SURNAMES: &[&str] = &[
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun",
];
const PINYIN_GIVEN: &[&str] = &[
    "xiaoming", "wei", "fang", "jing", "hao", "yutong", "siyuan", "xinyi", "junjie", "mengqi",
    "lele", "doudou",
];
const CUTE_NICKS: &[&str] = &[
    "爱吃鱼的猫",
    "快乐小兔子",
    "路过的风",
    "一只小胖熊",
    "阳光下的向日葵",
    "奶茶不加糖",
    "深夜食堂常客",
    "橘子汽水",
    "会飞的小鱼",
    "追风少年",
    "柠檬不萌",
    "安静的美男子",
];

/// Returns a plausible buyer nick (Chinese name, pinyin handle, `tb` number or a cute phrase).
pub(crate) fn buyer_nick(rng: &mut impl Rng) -> String {
    match rng.gen_range(0..5) {
        0 => format!(
            "{}{}{}",
            pick(rng, SURNAMES),
            pick(rng, GIVEN),
            rng.gen_range(1970..2012)
        ),
        1 => format!(
            "{}_{}{}",
            pick(rng, PINYIN_SURNAMES),
            pick(rng, PINYIN_GIVEN),
            rng.gen_range(1..100)
        ),
        2 => format!("tb{}", rng.gen_range(10_000_000u64..99_999_999_999)),
        3 => format!("{}{}", pick(rng, CUTE_NICKS), rng.gen_range(1..1000)),
        _ => format!("{}{}", pick(rng, PINYIN_GIVEN), pick(rng, CUTE_NICKS)),
    }
}

const SHOP_WORDS: &[&str] = &[
    "晨光", "悦享", "优品", "星河", "锦绣", "乐购", "青禾", "云端", "海蓝", "橙意", "木子", "初心",
];

/// Returns a seller nick that fits the platform's usual shop names.
pub(crate) fn seller_nick(rng: &mut impl Rng, platform: Platform) -> String {
    let word = pick(rng, SHOP_WORDS);
    let suffix = match platform {
        Platform::Tmall => pick(rng, &["旗舰店", "官方旗舰店", "专卖店"]),
        Platform::Taobao => pick(rng, &["小店", "数码专营店", "家居馆", "书屋"]),
        Platform::Pinduoduo => pick(rng, &["官方店", "百货", "工厂店"]),
        Platform::Jd => pick(rng, &["京东自营旗舰店", "专营店"]),
        Platform::Douyin | Platform::Kuaishou => pick(rng, &["直播间", "好物店", "严选"]),
        _ => pick(rng, &["小铺", "精品店", "优选"]),
    };
    format!("{word}{suffix}")
}

/// (title, base price in fen)
const CATALOG: &[(&str, u64)] = &[
    ("正版图书 儿童绘本套装全10册 3-6岁亲子阅读", 8_900),
    ("幼儿神奇贴纸书 4-5岁 专注力训练", 3_280),
    ("考研英语词汇 乱序版 2025新版", 4_500),
    ("经典文学名著 平装典藏版 套装", 12_800),
    ("14英寸轻薄笔记本电脑 i5 16G 512G 办公学生", 399_900),
    ("无线蓝牙鼠标 静音充电 办公家用", 5_900),
    ("机械键盘 青轴 87键 有线背光", 18_900),
    ("移动硬盘 1TB USB3.0 高速", 32_900),
    ("笔记本电脑散热支架 可调节 铝合金", 7_990),
    ("U盘 64G 高速金属 车载电脑两用", 3_990),
    ("蓝牙耳机 真无线 降噪 超长续航", 19_900),
    ("手机壳 全包防摔 硅胶软壳", 1_990),
    ("65W氮化镓快充充电器 多口", 9_900),
    ("智能手环 心率血氧监测 运动计步", 15_900),
    ("家用电热水壶 1.7L 304不锈钢", 8_900),
    ("不粘锅炒锅 32cm 燃气电磁炉通用", 13_900),
    ("纯棉四件套 1.8m床 被套床单", 19_900),
    ("记忆棉枕头 护颈椎 单人", 6_900),
    ("收纳箱 塑料 大号 带盖 3个装", 4_990),
    ("保温杯 316不锈钢 大容量 男女", 5_900),
    ("酒店双人房 含早 周末不加价 可取消", 35_800),
    ("商务大床房 近地铁 免费停车", 28_800),
    ("景区亲子套餐 双人门票+住宿", 59_900),
    ("男士休闲T恤 纯棉 短袖 宽松", 6_900),
    ("女士连衣裙 夏季 雪纺 显瘦", 12_900),
    ("运动鞋 透气 跑步鞋 男女同款", 19_900),
    ("羽绒服 90白鸭绒 轻薄 短款", 39_900),
    ("烟台红富士苹果 5斤装 新鲜水果", 2_990),
    ("海南金煌芒果 5斤 当季", 3_990),
    ("坚果礼盒 每日坚果 30包", 8_990),
    ("速溶咖啡 美式黑咖啡 100条", 4_990),
    ("洗发水 控油去屑 750ml", 5_990),
    ("保湿面霜 补水 敏感肌可用 50g", 16_900),
    ("防晒霜 SPF50+ 户外 清爽", 8_900),
    ("猫粮 成猫 全价 10斤装", 13_900),
    ("儿童积木 大颗粒 拼装玩具 益智", 9_900),
    ("车载手机支架 出风口 磁吸", 2_990),
    ("LED护眼台灯 学生学习 宿舍", 7_900),
    ("空气炸锅 家用 5L 大容量", 29_900),
    ("电动牙刷 声波 成人 软毛", 12_900),
];

/// One listing a shop sells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) title: String,
    pub(crate) price_fen: u64,
}

/// Returns `count` distinct items from the catalog with shop-specific prices.
pub(crate) fn shop_items(rng: &mut impl Rng, count: usize) -> Vec<Item> {
    let mut catalog: Vec<&(&str, u64)> = CATALOG.iter().collect();
    catalog.shuffle(rng);
    catalog
        .into_iter()
        .take(count)
        .map(|&(title, base)| {
            let factor = rng.gen_range(0.8..1.25);
            // Round to whole jiao (0.10 yuan), at least 1 yuan.
            let price = ((base as f64 * factor / 10.0).round() as u64 * 10).max(100);
            Item {
                title: title.to_owned(),
                price_fen: price,
            }
        })
        .collect()
}

/// Formats fen as the platforms' yuan string (`"12.50"`).
pub(crate) fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

const REPLIES_BAD: &[&str] = &[
    "亲，非常抱歉给您带来不好的购物体验，请联系在线客服，我们一定为您妥善处理。",
    "抱歉让您失望了，已安排专人跟进，麻烦亲留意客服消息。",
    "给您添麻烦了，支持七天无理由退换，运费由我们承担。",
];
const REPLIES_NEUTRAL: &[&str] = &[
    "感谢亲的反馈，我们会继续改进，有问题随时联系客服哦。",
    "谢谢您的建议，我们已经记下了，期待下次给您更好的体验。",
];
const REPLIES_GOOD: &[&str] = &[
    "感谢亲的支持与好评，欢迎下次光临！",
    "谢谢亲的认可，我们会继续努力，祝您生活愉快～",
];

/// Returns a seller reply for a review with this rating, or none (most reviews have none).
pub(crate) fn seller_reply(rng: &mut impl Rng, rating: schemas::Rating) -> Option<String> {
    let (chance, replies) = match rating {
        schemas::Rating::Bad => (0.35, REPLIES_BAD),
        schemas::Rating::Neutral => (0.2, REPLIES_NEUTRAL),
        schemas::Rating::Good => (0.08, REPLIES_GOOD),
    };
    rng.gen_bool(chance).then(|| pick(rng, replies).to_owned())
}

fn pick<'a>(rng: &mut impl Rng, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn yuan_has_two_decimals() {
        assert_eq!(yuan(1250), "12.50");
        assert_eq!(yuan(20007), "200.07");
        assert_eq!(yuan(5), "0.05");
    }

    #[test]
    fn same_seed_same_choices() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        let nicks_a: Vec<String> = (0..20).map(|_| buyer_nick(&mut a)).collect();
        let nicks_b: Vec<String> = (0..20).map(|_| buyer_nick(&mut b)).collect();
        assert_eq!(nicks_a, nicks_b);
        assert!(nicks_a.iter().all(|nick| !nick.is_empty()));
    }

    #[test]
    fn items_are_distinct_and_priced() {
        let mut rng = StdRng::seed_from_u64(1);
        let items = shop_items(&mut rng, 12);
        assert_eq!(items.len(), 12);
        let mut titles: Vec<&str> = items.iter().map(|item| item.title.as_str()).collect();
        titles.sort_unstable();
        titles.dedup();
        assert_eq!(titles.len(), 12);
        assert!(items
            .iter()
            .all(|item| item.price_fen >= 100 && item.price_fen % 10 == 0));
    }

    #[test]
    fn tmall_shops_sound_like_flagships() {
        let mut rng = StdRng::seed_from_u64(3);
        let nick = seller_nick(&mut rng, Platform::Tmall);
        assert!(nick.ends_with("店"), "{nick}");
    }
}
